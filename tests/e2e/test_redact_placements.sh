#!/usr/bin/env bash
# test_redact_placements.sh: secrets where an agent meets them, end to end.
# Each case of the corpus below (an env dump, a .netrc, a kubeconfig, a
# .pgpass, a curl header, a chpasswd pipe, a password hash, ...) is sent
#  - through `sealtrail hook` as a PostToolUse event (a Bash command and its
#    stdout, or a Read of a file and its content),
#  - through `sealtrail hook` cut short (not JSON: the raw-input path),
#  - through `sealtrail import` as a hook-event line and as an audit-log line;
# then every secret of every case is searched for in `sealtrail log` (as
# written and JSON-decoded) and in the raw bytes of the store's files
# (data.mdb, lock.mdb; payloads are zstd-compressed there, so the log is the
# decoded view). None may be found, and the store must still check.
# Secrets are split with "@@" in this file (removed before use) so
# repository secret scanners do not flag it.
set -euo pipefail
: "${SEALTRAIL:?set SEALTRAIL to the sealtrail binary}"
. "$(dirname "$0")/lib.sh"
e2e_begin test_redact_placements
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED

cat >"$T/corpus.py" <<'PY'
# corpus: (desc, carrier, command_or_path, content, [secrets])
# carrier: bash (command + stdout), read (file_path + content), write (file_path + content), cmd (command only)
def u(s): return s.replace('@@', '')
C = []
def add(desc, carrier, cmd, content, secrets):
    C.append((desc, carrier, u(cmd), u(content), [u(s) for s in secrets]))

GH='ghp_'+'R8x@@Kq2LmN4pQ7sT1vW3yZ5aB6cD8eF0gH2jk'
# --- the six known gaps
add('php define in grep output','bash','grep -rn DB_PASSWORD .', "config.php:12:define('DB_PASSWORD', 'Wp@@Xk29qz');\n", ['WpXk29qz'])
add('php define in sed','cmd',"sed -i \"s/define('DB_PASSWORD', 'old')/define('DB_PASSWORD', 'N3w@@PwZq')/\" wp-config.php", '', ['N3wPwZq'])
add('php define heredoc','cmd',"cat > cfg.php <<'EOF'\ndefine('AUTH_KEY', 'aK9@@ff#Lp2');\nEOF", '', ['aK9ff#Lp2'])
add('pgpass cat','bash','cat ~/.pgpass', "db.internal:5432:app:app_user:Pg@@Pass9931\n*:*:*:postgres:s3cr@@etPG\n", ['PgPass9931','s3cretPG'])
add('pgpass read','read','/home/dev/.pgpass', "localhost:5432:*:admin:Adm@@inPw77\n", ['AdminPw77'])
add('pgpass echo','cmd',"echo 'db:5432:prod:svc:Pr@@odPw55' >> ~/.pgpass && chmod 600 ~/.pgpass", '', ['ProdPw55'])
add('setx token','cmd','setx API_TOKEN abc@@123def456ghi', '', ['abc123def456ghi'])
add('setx password quoted','cmd','setx DB_PASSWORD "Wi@@nPw 99"', '', ['WinPw 99'])
add('chpasswd echo','cmd',"echo 'deploy:Ch@@pw2024!' | chpasswd", '', ['Chpw2024!'])
add('chpasswd herestring','cmd','chpasswd <<< root:Ro@@otPw88', '', ['RootPw88'])
add('chpasswd sudo','cmd',"echo \"admin:Sud@@oPw11\" | sudo chpasswd", '', ['SudoPw11'])
add('md5crypt shadow','bash','sudo cat /etc/shadow', "bob:$1$sa@@ltsalt$qwertyuiopasdfghjklzx1:19000:0:99999:7:::\n", ['qwertyuiopasdfghjklzx1'])
add('yescrypt shadow','bash','sudo cat /etc/shadow', "alice:$y$j9T$F5Jx5fE@@xr9sZ1KmQ$Xq4Zr7bR3cT9wY1uP5oL8kN2mJ6hG4fD0sA3zE7vB1.:19500:0:99999:7:::\n", ['Xq4Zr7bR3cT9wY1uP5oL8kN2mJ6hG4fD0sA3zE7vB1'])
add('argon2id','bash','psql -c "select pw from users"', " $argon2id$v=19$m=65536,t=3,p=4$c29tZ@@XNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG\n", ['RdescudvJCsgt3ub+b+dWRWJTmaaJObG'])
add('argon2i','bash','cat hashes', "u:$argon2i$v=19$m=4096,t=3,p=1$YWJj@@ZGVmZ2g$Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA\n", ['Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA'])
add('scrypt $7$','bash','cat hashes', "u:$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn@@/qDCfrKW3XFE1JQEJ6rUZ0hGB/1\n", ['kBGj9fHznVYFQMEn/qDCfrKW3XFE1JQEJ6rUZ0hGB/1'])
add('mysql behind var','cmd','$MYSQL -uroot -pVa@@rPw123 app', '', ['VarPw123'])
add('mysql behind ${}','cmd','${MYSQL_BIN} -u root -pBr@@acePw9 -e "show databases"', '', ['BracePw9'])
add('mysql long cmd','cmd','docker compose exec -T database '+'--env X=1 '*70+'mysql -uroot -pLo@@ngPw42 db', '', ['LongPw42'])
add('twilio client','bash','cat app.py', 'client = Client("AC0123456789abcdef0123456789abcdef", "9f8e7d6c5b4a@@39281706f5e4d3c2b1a0")\n', ['9f8e7d6c5b4a39281706f5e4d3c2b1a0'])
add('twilio json','read','/app/twilio.json', '{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth": "aa8e7d6c5b4a@@39281706f5e4d3c2b1a0"}', ['aa8e7d6c5b4a39281706f5e4d3c2b1a0'])
# --- hunt
add('env dump','bash','env', "HOME=/root\nPGPASSWORD=PgEnv@@Pw1\nGITHUB_TOKEN="+GH+"\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCY@@EXAMPLEKEY\n", ['PgEnvPw1',u(GH),'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'])
add('printenv','bash','printenv', "MYSQL_ROOT_PASSWORD=My@@RootPw3\nSTRIPE_SECRET_KEY=sk_live_51Hx@@Yz2abcDEF456ghi789\n", ['MyRootPw3','sk_live_51HxYz2abcDEF456ghi789'])
add('docker inspect env','bash','docker inspect db', '[{"Config": {"Env": ["POSTGRES_PASSWORD=Dk@@rPw77", "PATH=/usr/bin"]}}]', ['DkrPw77'])
add('git remote -v token url','bash','git remote -v', "origin\thttps://x-access-token:"+GH+"@github.com/o/r.git (fetch)\nup\thttps://oauth2:glp@@atLongTokenValue12345@gitlab.com/o/r.git (push)\n", [u(GH),'glpatLongTokenValue12345'])
add('netrc','read','/home/dev/.netrc', "machine api.heroku.com\n  login me@x.com\n  password Hk@@PwToken88\n", ['HkPwToken88'])
add('aws credentials','read','/home/dev/.aws/credentials', "[default]\naws_access_key_id = AKIA"+"IOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY@@EXAMPLEKEY\naws_session_token = IQoJb3JpZ2luX2@@VjEJr//////////wEaCXVzLWVhc3QtMSJH\n", ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY','IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH'])
add('docker config auths','read','/home/dev/.docker/config.json', '{"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpEb2@@NrZXJQdzk5"}}}', ['dXNlcjpEb2NrZXJQdzk5'])
add('docker config auths text','bash','cat ~/.docker/config.json', '{\n  "auths": {\n    "ghcr.io": {\n      "auth": "Z2hjcjpHaGNy@@UHcxMjM="\n    }\n  }\n}\n', ['Z2hjcjpHaGNyUHcxMjM='])
add('kubeconfig','read','/home/dev/.kube/config', "users:\n- name: admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJU\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBdGVzdGtleWRhdGFmb3JrdWJlY29uZmln@@dGVzdA==\n    token: eyJhbGciOiJSUzI1NiJ9.kube@@tokenpayload1234.sig\n", ['LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBdGVzdGtleWRhdGFmb3JrdWJlY29uZmlndGVzdA==','eyJhbGciOiJSUzI1NiJ9.kubetokenpayload1234.sig'])
add('kubeconfig bare token','bash','kubectl config view --raw', "    token: k8s@@BearerTok9xYz77abc\n", ['k8sBearerTok9xYz77abc'])
add('npmrc','read','/home/dev/.npmrc', "//registry.npmjs.org/:_authToken=npm_"+"a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8\n//npm.pkg.github.com/:_authToken=Gh@@NpmTok55\n", ['npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8','GhNpmTok55'])
add('pip.conf','read','/home/dev/.config/pip/pip.conf', "[global]\nindex-url = https://user:Pi@@pPw66@pypi.corp.example/simple\n", ['PipPw66'])
add('postgres url','bash','echo $DATABASE_URL', "postgres://app:Pg@@UrlPw1@db:5432/app\n", ['PgUrlPw1'])
add('mongodb+srv','cmd','mongosh "mongodb+srv://admin:Mg@@SrvPw2@cluster0.x.mongodb.net/test"', '', ['MgSrvPw2'])
add('redis url no user','cmd','redis-cli -u redis://:Rd@@sPw3@cache:6379/0 ping', '', ['RdsPw3'])
add('jdbc password=','read','/app/application.properties', "spring.datasource.url=jdbc:postgresql://db:5432/app?user=app&password=Jd@@bcPw4\n", ['JdbcPw4'])
add('jdbc sqlserver','bash','cat conn.txt', "jdbc:sqlserver://db:1433;databaseName=app;user=sa;password=Sq@@lPw5;\n", ['SqlPw5'])
add('curl bearer','cmd','curl -H "Authorization: Bearer Br@@erTok6xyz" https://api.x.com', '', ['BrerTok6xyz'])
add('curl basic','cmd',"curl -H 'Authorization: Basic dXNl@@cjpwYXNz' https://api.x.com", '', ['dXNlcjpwYXNz'])
add('http dump','bash','curl -v https://api.x.com', "> GET / HTTP/1.1\n> Host: api.x.com\n> Authorization: Bearer Dm@@pTok7abc\n> Cookie: session=Se@@ssCk8zz; theme=dark\n", ['DmpTok7abc','SessCk8zz'])
add('set-cookie','bash','curl -i https://x', "HTTP/1.1 200 OK\nSet-Cookie: sessionid=St@@Ck9qq; Path=/; HttpOnly\n", ['StCk9qq'])
add('jwt','bash','cat token.txt', "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM@@0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\n", ['eyJzdWIiOiIxMjM0NTY3ODkwIn0'])
add('ssh key','read','/home/dev/.ssh/id_ed25519', "-----BEGIN OPENSSH PRIVATE"+" KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBk@@ZXlkYXRhc2VjcmV0c2VjcmV0c2VjcmV0AAAAlH0=\n-----END OPENSSH PRIVATE KEY-----\n", ['QyNTUxOQAAACBkZXlkYXRhc2VjcmV0c2VjcmV0c2VjcmV0AAAAlH0='])
add('pgp key','bash','gpg --export-secret-keys -a', "-----BEGIN PGP PRIVATE KEY"+" BLOCK-----\n\nlQOYBGXk@@PgpSecretMaterialAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n=ab12\n-----END PGP PRIVATE KEY BLOCK-----\n", ['PgpSecretMaterial'])
add('slack/stripe/openai/anthropic','bash','cat .env', "SLACK=xoxb-"+"1234567890-abcdefghij12\nSTRIPE=sk_test_4e@@C39HqLyjWDarjtT1zdp7dc\nOPENAI=sk-proj-Ab12Cd34Ef56@@Gh78Ij90Kl12Mn34Op56\nANTHROPIC=sk-ant-api03-Xy12@@Zw34Vu56Ts78Rq90Po12Nm34Lk56\n", ['sk_test_4eC39HqLyjWDarjtT1zdp7dc','sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56','sk-ant-api03-Xy12Zw34Vu56Ts78Rq90Po12Nm34Lk56'])
add('azure conn string','bash','az storage account show-connection-string', "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Az@@KeyBase64Value+/ABCDEFGH==;EndpointSuffix=core.windows.net\n", ['AzKeyBase64Value+/ABCDEFGH=='])
add('azure servicebus SAS','bash','cat appsettings.json', '"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=Sb@@SasKey12345abcdef="', ['SbSasKey12345abcdef='])
add('gcp sa json','read','/home/dev/sa.json', '{\n  "type": "service_account",\n  "private_key_id": "1a2b3c4d5e6f@@7a8b9c0d",\n  "private_key": "-----BEGIN PRIVATE'+' KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC@@GcpKeyMaterial\\n-----END PRIVATE KEY-----\\n",\n  "client_email": "x@p.iam.gserviceaccount.com"\n}\n', ['GcpKeyMaterial'])
add('terraform state','read','/infra/terraform.tfstate', '{"resources":[{"instances":[{"attributes":{"password": "Tf@@StatePw9", "master_password": "Tf@@Master10"}}]}]}', ['TfStatePw9','TfMaster10'])
add('.env export','read','/app/.env', "export DB_PASS='Ex@@portPw11'\nexport API_SECRET=ApiS@@ec12\n", ['ExportPw11','ApiSec12'])
add('yaml password','read','/app/config.yml', "database:\n  user: app\n  password: Ym@@lPw13\n", ['YmlPw13'])
add('xml password','read','/app/settings.xml', "<server><id>x</id><username>u</username><password>Xm@@lPw14</password></server>\n", ['XmlPw14'])
add('toml','read','/app/config.toml', "[db]\npassword = \"To@@mlPw15\"\napi_key = \"Tk@@Key16\"\n", ['TomlPw15','TkKey16'])
add('ini','read','/app/my.cnf', "[client]\nuser=root\npassword=In@@iPw17\n", ['IniPw17'])
add('java properties','read','/app/app.properties', "db.password=Jp@@Pw18\nkeystore.pass: Ks@@Pw19\n", ['JpPw18','KsPw19'])
add('--password=','cmd','pg_dump --password=Pd@@Pw20 -h db app', '', ['PdPw20'])
add('psql PGPASSWORD','cmd','PGPASSWORD=Pg@@Pw21 psql -h db -U app', '', ['PgPw21'])
add('mysql -p','cmd','mysql -h db -u root -pMy@@Pw22 app', '', ['MyPw22'])
add('sshpass','cmd','sshpass -p Ss@@Pw23 ssh u@h', '', ['SsPw23'])
add('docker login','cmd','docker login -u me -p Dl@@Pw24 registry.io', '', ['DlPw24'])
add('docker login stdin','cmd','echo Dl@@Pw25 | docker login -u me --password-stdin r.io', '', ['DlPw25'])
add('htpasswd','cmd','htpasswd -bc .htpasswd admin Ht@@Pw26', '', ['HtPw26'])
add('git credential store','read','/home/dev/.git-credentials', "https://user:Gc@@Pw27@github.com\n", ['GcPw27'])
add('git config token','cmd','git config --global github.token Gt@@Tok28abc', '', ['GtTok28abc'])
add('gh auth token','bash','gh auth token', GH+"\n", [u(GH)])
add('vault token','bash','vault login -method=userpass username=u password=Vt@@Pw29', '', ['VtPw29'])
add('openssl pass','cmd','openssl enc -aes256 -pass pass:Os@@Pw30 -in a -out b', '', ['OsPw30'])
add('keytool','cmd','keytool -genkey -keystore k.jks -storepass Kt@@Pw31 -keypass Kp@@Pw32', '', ['KtPw31','KpPw32'])
add('python requests auth','read','/app/c.py', 'requests.get(url, auth=("admin", "Rq@@Pw33"))\n', ['RqPw33'])
add('connection string ADO','read','/app/appsettings.json', '{"ConnectionStrings": {"Default": "Server=db;Database=app;User Id=sa;Password=Ad@@oPw34;"}}', ['AdoPw34'])
add('mssql Pwd=','bash','cat dsn', "Driver={ODBC};Server=db;Uid=sa;Pwd=Od@@bcPw35;\n", ['OdbcPw35'])
add('x-api-key header','cmd','curl -H "x-api-key: Xa@@Key36abc" https://api', '', ['XaKey36abc'])
add('PRIVATE_TOKEN gitlab header','cmd','curl --header "PRIVATE-TOKEN: Pt@@Tok37abc" https://gitlab/api', '', ['PtTok37abc'])
add('smtp uri','read','/app/.env', "SMTP_URL=smtp://mailer:Sm@@tpPw38@smtp.x.com:587\n", ['SmtpPw38'])
add('wp-cli','cmd','wp user create bob b@x.com --user_pass=Wp@@Pw39', '', ['WpPw39'])
add('rabbitmqctl','cmd','rabbitmqctl add_user admin Rb@@Pw40', '', ['RbPw40'])
add('createuser psql','cmd',"psql -c \"CREATE USER app WITH PASSWORD 'Sq@@lCr41'\"", '', ['SqlCr41'])
add('mysql ALTER USER','cmd',"mysql -e \"ALTER USER 'root'@'localhost' IDENTIFIED BY 'Al@@tPw42';\"", '', ['AltPw42'])
add('k8s secret yaml','read','/k8s/secret.yaml', "apiVersion: v1\nkind: Secret\ndata:\n  password: cGFz@@c3dvcmQ0Mw==\nstringData:\n  api-token: St@@rDat44\n", ['cGFzc3dvcmQ0Mw==','StrDat44'])
add('kubectl create secret','cmd','kubectl create secret generic db --from-literal=password=Kc@@Pw45', '', ['KcPw45'])
add('helm set','cmd','helm install x --set postgresql.auth.password=Hm@@Pw46', '', ['HmPw46'])
add('escaped ssh key in json string','bash','cat key.json', '{"key": "-----BEGIN RSA PRIVATE'+' KEY-----\\nMIIEowIBAAKCAQEA@@EscKeyMaterialxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\n-----END RSA PRIVATE KEY-----"}', ['EscKeyMaterial'])
add('powershell ConvertTo-SecureString','cmd','$pw = ConvertTo-SecureString "Ps@@Pw47" -AsPlainText -Force', '', ['PsPw47'])
add('docker run -e','cmd','docker run -e POSTGRES_PASSWORD=Dr@@Pw48 -d postgres', '', ['DrPw48'])
add('sendgrid','bash','cat .env', "SENDGRID=SG."+"abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ\n", ['abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ'])
add('grafana api key glsa','bash','cat .env', "GF_TOKEN=glsa_Ab@@Cd1234567890abcdefghijklmnop_12345678\n", ['glsa_AbCd1234567890abcdefghijklmnop_12345678'])
add('yaml api_key colon quoted','read','/app/c.yaml', "api_key: \"Ya@@mlKey49\"\n", ['YamlKey49'])
add('smbclient','cmd','smbclient //srv/share -U admin%Sm@@bPw50', '', ['SmbPw50'])
add('ldapsearch','cmd','ldapsearch -x -D cn=admin -w Ld@@Pw51 -b dc=x', '', ['LdPw51'])
add('lftp','cmd','lftp -u deploy,Lf@@tpPw52 sftp://h', '', ['LftpPw52'])
add('sqlplus','cmd','sqlplus scott/Ti@@gerPw53@orcl @report.sql', '', ['TigerPw53'])
add('net use','cmd','net use Z: \\\\srv\\share Ne@@tPw54 /user:dom\\u', '', ['NetPw54'])
add('vault kv put','cmd','vault kv put secret/db password=Vk@@Pw55 user=app', '', ['VkPw55'])
add('kubectl docker-registry','cmd','kubectl create secret docker-registry reg --docker-password=Dk@@Reg56 --docker-username=u', '', ['DkReg56'])
add('terraform -var','cmd','terraform apply -var="db_password=Tf@@Var57"', '', ['TfVar57'])
add('curl -d json','cmd','curl -d \'{"username":"a","password":"Cu@@rlJs58"}\' https://x/login', '', ['CurlJs58'])
add('wget --password','cmd','wget --user=u --password=Wg@@Pw59 https://x/f', '', ['WgPw59'])
add('printf sudo -S','cmd',"printf '%s\\n' 'Su@@doS60' | sudo -S systemctl restart nginx", '', ['SudoS60'])
add('mysql long cmd far flag','cmd','mysql -uroot '+'--opt=1 '*90+'-pFa@@rPw61 db', '', ['FarPw61'])
add('k8s deployment env yaml','read','/k8s/deploy.yaml', "env:\n  - name: DB_PASSWORD\n    value: \"K8@@sPw62\"\n  - name: API_TOKEN\n    value: |\n      Bl@@ockTok63\n", ['K8sPw62','BlockTok63'])
add('spring default','read','/app/application.properties', "spring.datasource.password=${DB_PASS:Sp@@rDef64}\n", ['SprDef64'])
add('hibernate xml','read','/app/hibernate.cfg.xml', '<property name="hibernate.connection.password">Hi@@bPw65</property>\n<entry key="password">En@@try66</entry>', ['HibPw65','Entry66'])
add('oracle thin','read','/app/db.properties', "url=jdbc:oracle:thin:scott/Or@@aThin67@//db:1521/orcl\n", ['OraThin67'])
add('ado braces','read','/app/appsettings.json', '{"Db": "Server=tcp:db;User ID=u;Password={Ad@@oBr68};"}', ['AdoBr68'])
# --- the fourth round of known gaps (2026-11-23)
HK='HRKU-AA'+'x9Fq2@@LmN4pQ7sT1vW3yZ5aB6cD8eF0gH2jkR8xKq2LmN4pQ7sT1vW3yZ5aB6'
add('heroku token alone','bash','heroku auth:token', HK+"\n", [u(HK)])
add('heroku token in a Read','read','/app/.env.production', "export HK="+HK+"\n", [u(HK)])
add('chpasswd heredoc','cmd',"sudo chpasswd <<'EOF'\ndeploy:Hd@@Pw81x\nroot:Hd@@Pw82y\nEOF", '', ['HdPw81x','HdPw82y'])
add('chpasswd heredoc tabs','cmd',"if true; then\n\tchpasswd <<-END\n\tbob:Hd@@Pw83z\n\tEND\nfi", '', ['HdPw83z'])
add('cat heredoc chpasswd','cmd',"cat <<EOF | chpasswd\ncarl:Hd@@Pw84w\nEOF", '', ['HdPw84w'])
add('passwd --stdin heredoc','cmd',"passwd --stdin bob <<EOF\nPw@@dStd85\nEOF", '', ['PwdStd85'])
add('sql file read','read','/app/db/001_users.sql', "CREATE USER app WITH PASSWORD 'Sq@@lPw86';\nALTER USER 'r'@'%' IDENTIFIED BY 'Sq@@lId87';\n", ['SqlPw86','SqlId87'])
add('sql file write','write','/app/db/002_roles.sql', "CREATE ROLE ro LOGIN PASSWORD 'Sq@@lWr88';\n", ['SqlWr88'])
add('bat file read','read','C:\\deploy\\setup.bat', "@echo off\r\nsetx API_TOKEN Ba@@tTok89\r\n", ['BatTok89'])
add('sql file cat','bash','cat migrations/seed.sql', "ALTER ROLE app PASSWORD 'Sq@@lCat90';\n", ['SqlCat90'])
add('php define no php','bash','grep -rh DB_PASSWORD .', "define('DB_PASSWORD', 'Df@@Pw91');\n", ['DfPw91'])
add('django hash','bash','python manage.py shell -c "print(u.password)"', "pbkdf2_sha256$870000$Dj4ngoS@@altValue1234ab$q2sdUZcVt0R8z1LxkQn6h7Q8uXGZr9y3WmNc1b5vDkE=\n", ['q2sdUZcVt0R8z1LxkQn6h7Q8uXGZr9y3WmNc1b5vDkE'])
add('yarn npmAuthToken','cmd','yarn config set npmAuthToken Ya@@rnTok92 -H', '', ['YarnTok92'])
add('azure sas url','cmd','azcopy copy ./backup.tar "https://acct.blob.core.windows.net/bk/backup.tar?sv=2022-11-02&ss=b&srt=o&sp=rw&se=2026-01-01T00:00:00Z&spr=https&sig=Jb3k9Q@@x2LmN%2BpR7sT1vW%3D"', '', ['Jb3k9Qx2LmN%2BpR7sT1vW%3D'])
add('azure sas connection string','read','/home/dev/app/local.settings.json', '{"Values": {"Storage": "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2026-01-01&spr=https&sig=Xq8v2M@@nB5cZ%2Fw7Lk1%3D"}}', ['Xq8v2MnB5cZ%2Fw7Lk1%3D'])
add('odbc PWD= connection string','bash','cat dsn.txt', "Driver={ODBC Driver 18 for SQL Server};Server=db;UID=sa;PWD=Od@@bcPw36;\n", ['OdbcPw36'])
add('go mysql dsn','read','/app/main.go', 'dsn := "root:Go@@DsnPw38@tcp(127.0.0.1:3306)/app?parseTime=true"\ndb, err := sql.Open("mysql", dsn)\n', ['GoDsnPw38'])
add('go mysql dsn unix socket','bash','grep -r MYSQL_DSN .env', "MYSQL_DSN=svc:Un@@ixPw39@unix(/var/run/mysqld/mysqld.sock)/prod\n", ['UnixPw39'])
add('odbc.ini PWD=','read','/etc/odbc.ini', "[prod]\nDriver=ODBC Driver 18 for SQL Server\nServer=db\nUID=sa\nPWD=In@@iPw37\n", ['IniPw37'])
PY

python3 - "$SEALTRAIL" "$T" <<'PY' && ok "no secret of $(grep -c '^add(' "$T/corpus.py") placements reaches log, data.mdb or lock.mdb (hook, raw hook input, import)" || bad "secrets found in the store (listed above)"
import copy, json, os, subprocess, sys
st, T = sys.argv[1], sys.argv[2]
exec(open(os.path.join(T, 'corpus.py')).read())
base = {"session_id": "bc9086c5-7b15-40c5-9849-dab471d76062", "cwd": "/home/dev/app", "hook_event_name": "PostToolUse",
        "tool_use_id": "toolu_01613ruoJ1dmAHpdeHW0cYBN", "duration_ms": 41}
def payload(c):
    desc, car, cmd, content, sec = c
    d = copy.deepcopy(base)
    if car == 'write':
        d.update(tool_name="Write", tool_input={"file_path": cmd, "content": content},
                 tool_response={"type": "create", "filePath": cmd})
    elif car == 'read':
        d.update(tool_name="Read", tool_input={"file_path": cmd},
                 tool_response={"type": "text", "file": {"filePath": cmd, "content": content, "numLines": 1}})
    else:
        d.update(tool_name="Bash", tool_input={"command": cmd, "description": desc},
                 tool_response={"stdout": content, "stderr": "", "interrupted": False})
    return d
hs, ims = os.path.join(T, 'hook'), os.path.join(T, 'imp')
for s in (hs, ims):
    subprocess.run([st, '--dir', s, 'init'], capture_output=True, check=True)
lines = []
for c in C:
    d = payload(c)
    raw = json.dumps(d).encode()
    for body in (raw, raw[:-1]):
        r = subprocess.run([st, '--dir', hs, 'hook'], input=body, capture_output=True)
        assert r.returncode == 0 and not r.stdout and not r.stderr, (c[0], r)
    lines.append(json.dumps(dict(d, timestamp="2026-11-22T10:00:00Z")))
    lines.append(json.dumps({"timestamp": "2026-11-22T10:00:01Z", "toolName": d["tool_name"], "input": d["tool_input"],
                             "output": c[3], "status": "success"}))
with open(os.path.join(T, 'imp.jsonl'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
subprocess.run([st, '--dir', ims, 'import', os.path.join(T, 'imp.jsonl')], capture_output=True, check=True)
leaks = 0
for store, want in ((hs, 2 * len(C)), (ims, 2 * len(C))):
    log = subprocess.run([st, '--dir', store, 'log'], capture_output=True, check=True).stdout.decode()
    entries = [json.loads(l) for l in log.splitlines()]
    assert len(entries) == want, (store, len(entries), want)
    dec = '\n'.join(json.dumps(e, ensure_ascii=False).replace('\\n', '\n').replace('\\"', '"').replace('\\\\', '\\')
                    for e in entries)
    files = b''.join(open(os.path.join(store, f), 'rb').read() for f in ('data.mdb', 'lock.mdb')
                     if os.path.exists(os.path.join(store, f)))
    for c in C:
        for s in c[4]:
            where = [w for w, hit in (('log', s in log or s in dec), ('store files', s.encode() in files)) if hit]
            if where:
                leaks += 1
                print('  %s: %r of %r in %s' % (os.path.basename(store), s[:12] + '...', c[0], ', '.join(where)))
    subprocess.run([st, '--dir', store, 'check'], capture_output=True, check=True)
sys.exit(1 if leaks else 0)
PY

e2e_end
