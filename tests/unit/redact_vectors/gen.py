#!/usr/bin/env python3
# gen.py: how the redaction vectors in this directory were written. The
# .jsonl files are the source of truth (reviewed by hand, committed); this
# script is the record of how they were produced, with fixed random tokens
# (seed 7), and regenerates them byte for byte:  python3 gen.py
#
# Each line: {"desc", "mode" (text|json|raw, default text), "in", "want"
# (absent: must come out unchanged), "counts" (rule -> n; absent: none)}.
# "@@" inside a token is deleted by the test before use: it keeps realistic
# fake tokens from tripping repository secret scanners.
import os
os.chdir(os.path.dirname(os.path.abspath(__file__)))
import json, random
random.seed(7)
A='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
def rs(n, alpha=A):
    return ''.join(random.choice(alpha) for _ in range(n))
def mixed(n, alpha=A):
    while True:
        s = rs(n, alpha)
        if any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s): return s
def R(rule): return '[REDACTED:%s]' % rule
out = {}
def case(file, desc, inp, want=None, counts=None, mode=None):
    d = {"desc": desc}
    if mode: d["mode"] = mode
    d["in"] = inp
    if want is not None: d["want"] = want
    if counts is not None: d["counts"] = counts
    out.setdefault(file, []).append(d)
def pos(file, desc, fmt, secret, rule, mode=None, n=1):
    """fmt has {} where the secret goes; expect it replaced by the marker."""
    case(file, desc, fmt.replace('{}', secret), fmt.replace('{}', R(rule)), {rule: n}, mode)
def split(tok, at):  # hide a token from repository secret scanners: '@@' is removed by the test
    return tok[:at] + '@@' + tok[at:]

T='tokens'
# AWS
pos(T,'aws-access-key-id AKIA','key {} end','AKIA'+'IOSFODNN7EXAMPLE','aws-access-key-id')
pos(T,'aws-access-key-id ASIA (session)','"AccessKeyId": "{}"','ASIA'+rs(16,'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'),'aws-access-key-id')
pos(T,'aws-access-key-id at start of text','{}','AKIA'+rs(16,'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'),'aws-access-key-id')
pos(T,'aws-access-key-id after a newline escape written as text','x\\n{}','AKIA'+rs(16,'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'),'aws-access-key-id')
pos(T,'aws-access-key-id after a \\u0000 escape written as text','x\\u0000{}','AKIA'+rs(16,'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'),'aws-access-key-id')
sec='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
case(T,'aws-secret-access-key in a CSV row after its key id','AKIAIOSFODNN7EXAMPLE,'+sec+'\n',R('aws-access-key-id')+','+R('aws-secret-access-key')+'\n',{'aws-access-key-id':1,'aws-secret-access-key':1})
pos(T,'aws-secret-access-key in ~/.aws/credentials','[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {}\n',sec,'aws-secret-access-key',n=1)
out[T][-1]['want']=out[T][-1]['want'].replace('AKIAIOSFODNN7EXAMPLE',R('aws-access-key-id')); out[T][-1]['counts']={'aws-access-key-id':1,'aws-secret-access-key':1}
pos(T,'aws-secret-access-key env','export AWS_SECRET_ACCESS_KEY={}',sec,'aws-secret-access-key')
# Google
pos(T,'google-api-key','url?key={}&x=1',split('AIza'+rs(35,A+'-_'),2),'google-api-key')
out[T][-1]['want']='url?key='+R('google-api-key')+'&x=1'
# GitHub
for p in ['ghp_','gho_','ghu_','ghs_','ghr_']:
    pos(T,'github-token '+p,'token {} x',split(p+rs(36),2),'github-token')
pos(T,'github-token fine-grained github_pat_','GH_TOKEN={}',split('github_pat_'+rs(22)+'_'+rs(59),6),'github-token')
pos(T,'github-token in a URL userinfo','https://{}@github.com/o/r.git',split('ghp_'+rs(36),2),'github-token')
# GitLab
pos(T,'gitlab-token glpat-','PRIVATE-TOKEN: {}',split('glpat-'+rs(20,A+'-_'),3),'gitlab-token')
# Anthropic, OpenAI
pos(T,'anthropic-api-key','ANTHROPIC_API_KEY={}',split('sk-ant-api03-'+rs(93,A+'-_')+'AA',5),'anthropic-api-key')
pos(T,'anthropic-api-key admin','key {}.',split('sk-ant-admin01-'+rs(80,A+'-_')+'AA',5),'anthropic-api-key')
pos(T,'openai-api-key legacy sk-','openai.api_key = "{}"',split('sk-'+mixed(20)+'T3BlbkFJ'+mixed(20),2),'openai-api-key')
pos(T,'openai-api-key sk-proj-','{}',split('sk-proj-'+mixed(48,A+'-_')+mixed(40),2),'openai-api-key')
pos(T,'openai-api-key sk-svcacct-','Bearer? no: {} here',split('sk-svcacct-'+mixed(60,A+'-_'),2),'openai-api-key')
# Slack
for p in ['xoxb-','xoxp-','xoxa-','xoxr-','xoxs-']:
    pos(T,'slack-token '+p,'SLACK_BOT= {}',split(p+'1234567890-1234567890123-'+rs(24),3),'slack-token')
pos(T,'slack-token app-level xapp-','{}',split('xapp-1-A0123456789-1234567890123-'+rs(64,'0123456789abcdef'),2),'slack-token')
case(T,'slack-webhook-url','curl -X POST https://hooks.slack.com/services/T0123ABCD/B0123ABCD/'+rs(24)+' -d x',
     'curl -X POST https://hooks.slack.com/services/'+R('slack-webhook-url')+' -d x',{'slack-webhook-url':1})
# Stripe
for p in ['sk_live_','rk_live_','sk_test_','rk_test_']:
    pos(T,'stripe-key '+p,'stripe.api_key = {}',split(p+rs(24),4),'stripe-key')
pos(T,'stripe-key webhook secret whsec_','{}',split('whsec_'+rs(32),3),'stripe-key')
# others
pos(T,'npm-token','//registry.npmjs.org/:_authToken={}',split('npm_'+rs(36),2),'npm-token')
pos(T,'huggingface-token','HF_TOKEN {}',split('hf_'+''.join(random.choice('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') for _ in range(33))+'Q',2),'huggingface-token')
pos(T,'pypi-token','password: {}',split('pypi-AgEIcHlwaS5vcmc'+rs(60,A+'-_'),4),'pypi-token')
pos(T,'sendgrid-api-key','SG {}',split('SG.'+rs(22,A+'-_')+'.'+rs(43,A+'-_'),2),'sendgrid-api-key')
pos(T,'digitalocean-token','{}',split('dop_v1_'+rs(64,'0123456789abcdef'),3),'digitalocean-token')
# JWT
jwt='eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
pos(T,'jwt','Authorization token {} ok',jwt,'jwt')
pos(T,'jwt ending a sentence','the token is {}.',jwt,'jwt')
pos(T,'jwt alg none (empty signature)','{} next','eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.','jwt')
pos(T,'jwt in a cookie','Cookie jar: session={}; Path=/',jwt,'jwt')

C='context'
# PEM
body='MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgwMbRvI0MBZhpF\nk2Zwqhw9J8hCE9Ct3xKNqBIA2LhbY1DyFmSWSQXRRDKy4bLAlqbd3hjKy8fD0NV/\nAgMBAAECggEBAJNn5sOLlXWjJsN4cG3hBNgHOAqCVUsZXaDIpN8UhmaFKDT8ivmF\n'
for label in ['RSA PRIVATE KEY','EC PRIVATE KEY','DSA PRIVATE KEY','OPENSSH PRIVATE KEY','ENCRYPTED PRIVATE KEY','PRIVATE KEY','PGP PRIVATE KEY BLOCK']:
    blk='-----BEGIN '+label.replace('PRIVATE','PRIVATE@@')+'-----\n'+body+'-----END '+label+'-----'
    case(C,'private-key '+label,'cat key.pem\n'+blk+'\ndone','cat key.pem\n'+R('private-key')+'\ndone',{'private-key':1})
blk='-----BEGIN RSA PRIVATE@@ KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n'+body+'-----END RSA PRIVATE KEY-----\n'
case(C,'private-key legacy encrypted with headers',blk,R('private-key')+'\n',{'private-key':1})
case(C,'private-key END missing: redacted to end of string','key:\n-----BEGIN PRIVATE@@ KEY-----\n'+body[:100],'key:\n'+R('private-key'),{'private-key':1})
case(C,'private-key END missing, text after the body: redacted to end of string','-----BEGIN PRIVATE@@ KEY-----\n'+body+'"}; other stuff','' +R('private-key'),{'private-key':1})
case(C,'private-key with line breaks written as \\n (JSON inside a string)','PRIVATE_KEY="-----BEGIN PRIVATE@@ KEY-----\\n'+body.replace('\n','\\n')+'-----END PRIVATE KEY-----\\n"',
     'PRIVATE_KEY="'+R('private-key')+'"',{'private-key':1})
case(C,'private-key truncated right after the BEGIN line','-----BEGIN OPENSSH PRIVATE@@ KEY-----',R('private-key'),{'private-key':1})
# cards
for num,desc in [('4111111111111111','visa 16'),('4111 1111 1111 1111','visa spaced'),('4111-1111-1111-1111','visa dashed'),
                 ('4222222222222','visa 13'),('5555555555554444','mastercard'),('2223003122003222','mastercard 2-series'),
                 ('378282246310005','amex'),('3782 822463 10005','amex 4-6-5'),('6011111111111117','discover'),
                 ('3530111333300000','jcb'),('36227206271667','diners 14'),('6200000000000005','unionpay')]:
    pos(C,'payment-card '+desc,'card: {} exp 12/30',num,'payment-card')
out[C][-1]  # noop
case(C,'payment-card followed by another number','4111111111111111 2',R('payment-card')+' 2',{'payment-card':1})
case(C,'payment-card grouped, then a number','4111 1111 1111 1111 42',R('payment-card')+' 42',{'payment-card':1})
# URLs
for url,want in [('postgres://admin:s3cr3t@db.example.com:5432/app','postgres://admin:{}@db.example.com:5432/app'),
                 ('postgresql://u:p@localhost/db','postgresql://u:{}@localhost/db'),
                 ('mysql://root:Hunter2!@127.0.0.1:3306/shop','mysql://root:{}@127.0.0.1:3306/shop'),
                 ('mongodb+srv://app:p%40ssw0rd@cluster0.ab1cd.mongodb.net/?retryWrites=true','mongodb+srv://app:{}@cluster0.ab1cd.mongodb.net/?retryWrites=true'),
                 ('redis://:hunter2@cache:6379/0','redis://:{}@cache:6379/0'),
                 ('amqp://guest:guest@rabbit:5672/','amqp://guest:{}@rabbit:5672/'),
                 ('https://deploy:tok3n@git.example.com/repo.git','https://deploy:{}@git.example.com/repo.git'),
                 ('ftp://user:pa@ss@files.example.com/x','ftp://user:{}@files.example.com/x')]:
    case(C,'url-credentials '+url.split(':')[0]+(' (unencoded @ in password)' if 'pa@ss' in url else ''),'DATABASE_URL='+url+' x','DATABASE_URL='+want.format(R('url-credentials'))+' x',{'url-credentials':1})
# assignments
PA='password-assignment'
for fmt,desc in [('DB_PASSWORD={}','env file'),('export DB_PASSWORD={}','shell export'),('DB_PASSWORD="{}"','env quoted'),
                 ("password: {}",'yaml'),("  db_password: '{}'",'yaml single-quoted'),('"api_key": "{}"','json inside a string'),
                 ('\\"api_key\\":\\"{}\\"','escaped json inside a string'),("'password' => '{}'",'php array'),
                 ('password := "{}"','go'),('spring.datasource.password={}','properties'),('password = {}','ini'),
                 ('mysql --password {} -u root','cli flag with space'),('tool --api-key={} run','cli flag with ='),
                 ('keytool -storepass {} -keystore x','keytool -storepass'),('openssl rsa -passin pass:{} -in k','openssl -passin pass:'),
                 ('curl "https://api.example.com/v1?access_token={}&page=2"','url query'),('<password>{}</password>','xml'),
                 ('X-Api-Key: {}','api key header'),('client_secret={}','oauth client secret'),('PGPASSWORD={} psql','PGPASSWORD'),
                 ('$env:API_KEY = "{}"','powershell'),('cfg["password"] = "{}"','dict item assignment'),
                 ('connect(host="db", password="{}")','python kwarg'),('secret_key_base: {}','rails'),
                 ('Password: {}','prompt transcript'),('DB_PASS={}','_PASS suffix')]:
    pos(C,PA+' '+desc,fmt,'Zq7-hunter2-xK','password-assignment' if 'passin' not in fmt else 'password-assignment')
case(C,PA+' yaml value with spaces (to end of line)','password: correct horse battery staple\nuser: bob','password: '+R(PA)+'\nuser: bob',{PA:1})
case(C,'authorization-header bearer','Authorization: Bearer abc123XYZ','Authorization: Bearer '+R('authorization-header'),{'authorization-header':1})
case(C,'authorization-header basic','curl -H "Authorization: Basic dXNlcjpwYXNzd29yZA==" x','curl -H "Authorization: Basic '+R('authorization-header')+'" x',{'authorization-header':1})
case(C,'authorization-header token scheme','authorization: token 0123abcd','authorization: token '+R('authorization-header'),{'authorization-header':1})
case(C,'authorization-header bearer jwt keeps the jwt name','Authorization: Bearer '+jwt,'Authorization: Bearer '+R('jwt'),{'jwt':1})
case(C,'token rule wins over the assignment that contains it','GITHUB_TOKEN='+split('ghp_'+rs(36),2),'GITHUB_TOKEN='+R('github-token'),{'github-token':1})
case(C,'several secrets on one line','a=1 password=x1 token=y2 b=2','a=1 password='+R(PA)+' token='+R(PA)+' b=2',{PA:2})

L='lookalikes'
def keep(desc, s): case(L, desc, s)
keep('git sha (40 hex)','commit 9f2c3a1b4d5e6f708192a3b4c5d6e7f8091a2b3c Merge')
keep('git sha upper-case','9F2C3A1B4D5E6F708192A3B4C5D6E7F8091A2B3C')
keep('sha-256 hex','e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  file.tar.gz')
keep('sha-512 hex','cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e')
keep('uuid','session 123e4567-e89b-12d3-a456-426614174000 started')
keep('uuid digits only','12345678-1234-5234-9234-123456789012')
keep('13-digit millisecond timestamp','ts=1763787173123 next=1763787173124')
keep('16-digit microsecond timestamp','"time_us":1763787173123456')
keep('19-digit nanosecond timestamp','1763787173123456789')
keep('luhn-invalid visa-like number','4111111111111112')
keep('16 digits, no issuer prefix','9111111111111115')
keep('decimal that contains a card-like run','3.4111111111111111')
keep('phone number and ISBN','+1 415 555 0100, ISBN 978-3-16-148410-0')
keep('dates and versions','2024-01-15 v4.1.1 5.10.0-28-amd64')
keep('python: password from getpass','password = getpass.getpass()\npassword = getpass()')
keep('python: password from input() with a prompt','password = input("Password: ")')
keep('python: password from the environment','password = os.environ["DB_PASSWORD"]\ntoken = os.getenv("GITHUB_TOKEN")')
keep('python: attribute and parameter','token = self.token\ndef login(username, password):\n    if not password:\n        return None')
keep('python: typed parameter, empty default','def f(password: str = "", token: Optional[str] = None):')
keep('python: keyword argument passing a variable','connect(password=password, api_key=api_key)')
keep('python: snake_case variable','password = new_password\nsecret = user_secret')
keep('typescript: type annotations','const password: string = req.body.password;\ninterface U { token?: string; apiKey: string }')
keep('js: object shorthand-like','{ password: hashedPassword, token: accessToken }')
keep('c: comparison and designated initializer','if (password == NULL) return; [ST_RULE_GITHUB_TOKEN] = "github-token",')
keep('c++ scope','auto t = auth::token::parse(x);')
keep('yaml: reference to a secret store','password: ${{ secrets.DB_PASSWORD }}\ntoken: "{{ vault_token }}"')
keep('env: reference to another variable','DB_PASSWORD=$PGPASS\nAPI_KEY=${API_KEY}')
keep('empty and placeholder values','password=\npassword: ""\napi_key: <your-api-key>\ntoken: ********\nsecret: null')
keep('not credential names','token_count: 5\nmax_tokens: 100\n"input_tokens": 12\npassword_file: /etc/pw\npublic_key: ssh-ed25519 AAAAC3Nz\ntokenizer = x')
keep('cli help text metavars','  --token TOKEN      GitHub token\n  --password PASSWORD\n  --password-stdin\n  --api-key string   API key')
keep('prose mentioning passwords','Args:\n    password: The password to use.\n    token (str): GitHub token with repo scope.')
keep('shell PWD is a directory','PWD=/home/dev/project\nOLDPWD=/tmp')
keep('url without password','http://localhost:8080/x ssh://git@github.com/o/r.git https://user@host/ mailto:a@b.c')
keep('url with placeholder password','postgres://{user}:{password}@{host}/db postgres://u:${PGPASSWORD}@h/db')
keep('base64 image data','iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP438AAAAQBAYDFKhhdAAAAAElFTkSuQmCC')
keep('pem marker quoted in code','if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    header = "-----BEGIN PRIVATE KEY-----" + "\\n"')
keep('public key and certificate','-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----')
keep('hyphenated words that start like sk-','task-list disk-abcdefghijklmnopqrstuvwxyzabcdefghijkl sk-very-long-hyphenated-class-name-that-goes-on')
keep('identifiers that start like tokens','AKIA_CONSTANT ghp_short AIzaShort github_pat_x eyJ.eyJ.x xoxb-abc')
keep('aws key id that is part of a longer word','XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX')
keep('markdown table of hashes','| 9f2c3a1b4d5e6f708192a3b4c5d6e7f8091a2b3c | 2024-01-15 |')
keep('Bearer scheme without credentials','Authorization: Bearer\nAuthorization: Bearer $TOKEN')
keep('equality operators','if (token != expected && password === other) {}')
keep('tokens plural and counts in Claude usage','{"usage":{"input_tokens":10,"output_tokens":20,"cache_read_input_tokens":5}}')

J='json'
def jcase(desc, inp, want=None, counts=None):
    case(J, desc, inp, want, counts, 'json')
g=split('ghp_'+rs(36),2)
jcase('credential key: string value redacted whole','{"password":"hunter2","user":"bob"}','{"password":"'+R(PA)+'","user":"bob"}',{PA:1})
jcase('credential key suffix, any case','{"DB_PASSWORD":"a b c","githubToken":"x9","X-Api-Key":"k-1","client_secret":"s3"}','{"DB_PASSWORD":"'+R(PA)+'","githubToken":"'+R(PA)+'","X-Api-Key":"'+R(PA)+'","client_secret":"'+R(PA)+'"}',{PA:4})
jcase('credential key: non-secret values survive','{"password":"","token":null,"secret":true,"api_key":"${API_KEY}","auth":false}')
jcase('credential key: number under a password key','{"db_password":123456,"token_count":12}','{"db_password":"'+R(PA)+'","token_count":12}',{PA:1})
jcase('credential key: token value keeps the token rule name','{"github_token":"'+g+'"}','{"github_token":"'+R('github-token')+'"}',{'github-token':1})
jcase('authorization header member keeps the scheme','{"headers":{"Authorization":"Bearer abc123","Cookie":"sid=1"}}','{"headers":{"Authorization":"Bearer '+R('authorization-header')+'","Cookie":"'+R(PA)+'"}}',{'authorization-header':1,PA:1})
jcase('aws credentials object from sts','{"Credentials":{"AccessKeyId":"ASIAIOSFODNN7EXAMPLE","SecretAccessKey":"'+sec+'","SessionToken":"FwoGZXIvYXdzEBYaDH"}}',
      '{"Credentials":{"AccessKeyId":"'+R('aws-access-key-id')+'","SecretAccessKey":"'+R('aws-secret-access-key')+'","SessionToken":"'+R(PA)+'"}}',{'aws-access-key-id':1,'aws-secret-access-key':1,PA:1})
jcase('name/value pair (kubernetes env)','{"env":[{"name":"DB_PASSWORD","value":"pw1"},{"name":"HOME","value":"/root"}]}','{"env":[{"name":"DB_PASSWORD","value":"'+R(PA)+'"},{"name":"HOME","value":"/root"}]}',{PA:1})
jcase('secret behind \\u escapes','{"c":"\\u0067\\u0068\\u0070_'+g.replace('@@','')[4:]+'"}','{"c":"'+R('github-token')+'"}',{'github-token':1})
jcase('secret after a NUL','{"c":"ok\\u0000AKIAIOSFODNN7EXAMPLE"}','{"c":"ok\\u0000'+R('aws-access-key-id')+'"}',{'aws-access-key-id':1})
jcase('secret in an object key','{"AKIAIOSFODNN7EXAMPLE":1,"password=hunter2":2}','{"'+R('aws-access-key-id')+'":1,"password='+R(PA)+'":2}',{'aws-access-key-id':1,PA:1})
jcase('redacted keys stay unique','{"AKIAIOSFODNN7EXAMPLE":1,"AKIAIOSFODNN7EXAMPL2":2,"[REDACTED:aws-access-key-id]#2":3}',
      '{"'+R('aws-access-key-id')+'":1,"'+R('aws-access-key-id')+'#3":2,"[REDACTED:aws-access-key-id]#2":3}',{'aws-access-key-id':2})
jcase('card number as a JSON number','{"card":4111111111111111,"ts":1763787173123}','{"card":"'+R('payment-card')+'","ts":1763787173123}',{'payment-card':1})
deep='{"a":'*20+'['*20+'"AKIAIOSFODNN7EXAMPLE"'+']'*20+'}'*20
jcase('40 levels deep',deep,deep.replace('AKIAIOSFODNN7EXAMPLE',R('aws-access-key-id')),{'aws-access-key-id':1})
jcase('bash tool input and output','{"tool_input":{"command":"export DB_PASSWORD=hunter2 && psql"},"tool_response":{"stdout":"token: '+g+'\\n","stderr":""}}',
      '{"tool_input":{"command":"export DB_PASSWORD='+R(PA)+' && psql"},"tool_response":{"stdout":"token: '+R('github-token')+'\\n","stderr":""}}',{PA:1,'github-token':1})
jcase('top-level string','"AKIAIOSFODNN7EXAMPLE"','"'+R('aws-access-key-id')+'"',{'aws-access-key-id':1})

W='raw'
def rcase(desc, inp, want=None, counts=None): case(W, desc, inp, want, counts, 'raw')
rcase('truncated event','{"tool_input":{"command":"export DB_PASSWORD=hunter2\\nAKIAIOSFODNN7EXAMPLE','{"tool_input":{"command":"export DB_PASSWORD='+R(PA)+'\\n'+R('aws-access-key-id'),{PA:1,'aws-access-key-id':1})
rcase('escaped printable ascii cannot split a token','{"x":"\\u0041KIAIOSFODNN7EXAMPLE and \\u0067hp_'+g.replace('@@','')[4:]+'"','{"x":"'+R('aws-access-key-id')+' and '+R('github-token')+'"',{'aws-access-key-id':1,'github-token':1})
rcase('json members','{"password":"hunter2","secret":1234,"auth":{"x":1},"token":null,"pw":"x"',
      '{"password":"'+R(PA)+'","secret":'+R(PA)+',"auth":{"x":1},"token":null,"pw":"x"',{PA:2})
rcase('escaped backslash keeps \\u0041 as text','{"x":"\\\\u0041KIA"}')
rcase('pem block in a truncated string','{"k":"-----BEGIN PRIVATE@@ KEY-----\\n'+body.replace('\n','\\n')+'","n":1}','{"k":"'+R('private-key')+'","n":1}',{'private-key':1})

# ---- more bypass attempts and look-alikes
jcase('credential key written with \\u escapes','{"\\u0070assword":"hunter2"}','{"password":"'+R(PA)+'"}',{PA:1})
jcase('credential key in mixed case','{"PaSsWoRd":"hunter2","Proxy-Authorization":"Basic dXNlcjpw"}','{"PaSsWoRd":"'+R(PA)+'","Proxy-Authorization":"Basic '+R('authorization-header')+'"}',{PA:1,'authorization-header':1})
jcase('the same secret twice is counted twice','["AKIAIOSFODNN7EXAMPLE","AKIAIOSFODNN7EXAMPLE"]','["'+R('aws-access-key-id')+'","'+R('aws-access-key-id')+'"]',{'aws-access-key-id':2})
jcase('secret in a key 30 levels down','{"a":'*30+'{"x AKIAIOSFODNN7EXAMPLE":0}'+'}'*30,'{"a":'*30+'{"x '+R('aws-access-key-id')+'":0}'+'}'*30,{'aws-access-key-id':1})
jcase('json inside a string inside a string','{"stdout":"{\\"config\\":\\"{\\\\\\"password\\\\\\":\\\\\\"hunter2\\\\\\"}\\"}"}',
      '{"stdout":"{\\"config\\":\\"{\\\\\\"password\\\\\\":\\\\\\"'+R(PA)+'\\\\\\"}\\"}"}',{PA:1})
case(C,'token right after non-ASCII text','日本'+split('ghp_'+rs(36),2)+'、終わり','日本'+R('github-token')+'、終わり',{'github-token':1})
case(C,'token after an underscore and inside brackets','x_'+split('ghp_'+rs(36),2)+' ('+split('gho_'+rs(36),2)+') `'+split('ghu_'+rs(36),2)+'`',
     'x_'+R('github-token')+' ('+R('github-token')+') `'+R('github-token')+'`',{'github-token':3})
case(C,'lower-case http header in a raw dump','GET / HTTP/1.1\r\nauthorization: bearer abc.def.ghi\r\nx-api-key: k123\r\n','GET / HTTP/1.1\r\nauthorization: bearer '+R('authorization-header')+'\r\nx-api-key: '+R(PA)+'\r\n',{'authorization-header':1,PA:1})
case(C,'cli flag with quoted value','deploy --password="p@ss word" --db-token \'t0k3n\'','deploy --password="'+R(PA)+'" --db-token \''+R(PA)+'\'',{PA:2})
case(C,'netrc-style and ini in one text','[client]\nuser = root\npassword = Sup3r$ecret!\n','[client]\nuser = root\npassword = '+R(PA)+'\n',{PA:1})
keep('stripe publishable key','pk_live_'+'51H8xyzABCdefGHIjklMNO')
keep('hyphenated lower-case words after sk-','risk-management-framework-for-enterprise-scale-deployments')
keep('terraform reference','password = var.db_password\ntoken    = data.vault_generic_secret.t.data["token"]')
keep('sql placeholders','UPDATE users SET password = ? WHERE id = :id; password = :password; password = $1')
keep('yaml booleans and enums','auth: true\nauth: required\npassword: null')
keep('kubernetes secret reference','secretKeyRef:\n  name: db\n  key: password')
keep('go struct tag','Password string `json:"password"`')

jcase('authorization member: scheme alone or with a placeholder survives','{"Authorization":"Bearer","authorization":"Bearer ${TOKEN}","auth":"Basic <credentials>"}')

case(C,'env and flag values that start with punctuation are literals','DB_PASSWORD=!x9@Qz tool --password *Secret9 ?api_key=:abc','DB_PASSWORD='+R(PA)+' tool --password '+R(PA)+' ?api_key='+R(PA),{PA:3})

# ---- code that names credentials without holding one (from a scan of the Python standard library)
keep('python: names and constants, not secrets','token = Error\nself.token = nextchar\nTOKEN_TYPE = 59\nXAUTH = 4 # XAUTH\nCHALLENGE_PASSWORD = ObjectIdentifier("1.2.840")\nOID_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH\nToken: FG_DEFAULT,')
keep('python: expressions that start with the key word','password = password or ""\nauth = auths and sorted(auths)[0][1] or None')
keep('python: bytes literal and masked value','password = b""\npassword = ":****"')
keep('python: a string that ends at the operator','print("shlex: token=" + repr(raw))\nheaders["authorization"] = "Basic " + b64encode(x)')
keep('namespaced names inside strings','"passwd:dir", grant = "urn:ietf:params:oauth:grant-type:token-exchange"')
keep('style tables and emoji names','{Token: "#d8dee9", Name: "#ffffff"}\n"secret": "\u3299", "cookie": "\U0001F36A"')
keep('a call assigned to an env-style name','MAGICCOOKIE=object()')
keep('one-character values','password=x\n{"secret": "1"}')

keep('python: expressions, docstrings, token types','PseudoToken = Whitespace + group(PseudoExtras, Number)\n    :param token: A (Bearer) token dict.\n    * access_token: An access token as defined in [RFC6749],\nResourceEndpoint.__init__(self, default_token=\'Bearer\')')

# ---- review of 2026-11-22 (appended last so the vectors above stay byte for byte)
pos(T,'vault-token hvs. (vault login)','vault login {}',split('hvs.'+rs(91,A+'-_'),2),'hashicorp-vault-token')
pos(T,'vault-token hvb. batch token','X-Vault-Token: {}',split('hvb.'+rs(120,A+'-_'),2),'hashicorp-vault-token')
out[T][-1]['counts']={'hashicorp-vault-token':1}
pos(T,'databricks-token dapi','pat {}-2 ok',split('dapi'+rs(32,'0123456789abcdef'),2),'databricks-token')
case(C,'key after a flag or glued to one by = takes a literal (kubectl, helm, terraform)',
     "kubectl create secret generic db --from-literal=password=Passw0rdXyz\nhelm install x --set auth.postgresPassword=SuperPass1,auth.user=app\nterraform apply -var 'db_password=hunter2pass'",
     "kubectl create secret generic db --from-literal=password="+R(PA)+"\nhelm install x --set auth.postgresPassword="+R(PA)+",auth.user=app\nterraform apply -var 'db_password="+R(PA)+"'",{PA:3})
case(C,'a value that repeats the key word but holds a digit is a password, not code',
     'docker login -u me --password Dock3rPassw0rd r.io\nclient_secret: MyClientSecret9\npassword = Password123',
     'docker login -u me --password '+R(PA)+' r.io\nclient_secret: '+R(PA)+'\npassword = '+R(PA),{PA:3})
case(C,'Azure AccountKey= and Ocp-Apim-Subscription-Key',
     'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey='+rs(86)+'==;EndpointSuffix=core.windows.net\ncurl -H "Ocp-Apim-Subscription-Key: '+rs(32,'0123456789abcdef')+'" x',
     'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey='+R(PA)+';EndpointSuffix=core.windows.net\ncurl -H "Ocp-Apim-Subscription-Key: '+R(PA)+'" x',{PA:2})
keep('flags and words before a key-word name that is code','connect(password=password, api_key=api_key)\n--set image.tag=v2 --set auth.existingSecret=db-secret\ncheck --token token_path')

jcase('arrays under credential names, argv flags and header pairs; a member named pass',
      '{"api_key":["k3yV4lue9"],"Header":{"Authorization":["Bearer '+rs(40)+'"]},"args":["-u","root","--password","Hunt3r2x","--token","--verbose"],"headers":[["X-Api-Key","'+rs(32)+'"]],"auth":{"user":"a","pass":"pw9Xy"}}',
      '{"api_key":["'+R(PA)+'"],"Header":{"Authorization":["Bearer '+R('authorization-header')+'"]},"args":["-u","root","--password","'+R(PA)+'","--token","--verbose"],"headers":[["X-Api-Key","'+R(PA)+'"]],"auth":{"user":"a","pass":"'+R(PA)+'"}}',
      {PA:4,'authorization-header':1})
jcase('word pairs and test counts are not credentials','{"tests":{"pass":12,"fail":0},"result":["pass","fail"],"x":["token","value"],"y":["--password","$PW"]}')

case(C,'.netrc and .authinfo: the word after password, after login, after machine or default',
     'machine github.com\nlogin me\npassword Sup3rS3cret99\nmachine h login u password x9y8z7 port 22\ndefault login anonymous password me@site',
     'machine github.com\nlogin me\npassword '+R(PA)+'\nmachine h login u password '+R(PA)+' port 22\ndefault login anonymous password '+R(PA),{PA:3})
case(C,'.netrc inside a raw JSON string (line breaks written as \\n)','{"stdout":"machine h\\n\\tlogin me\\n\\tpassword Sup3r9\\n"',
     '{"stdout":"machine h\\n\\tlogin me\\n\\tpassword '+R(PA)+'\\n"',{PA:1},'raw')
keep('prose around login and password','Enter your login name and password to continue.\nlogin with password hunter2\nlogin me password $NETRC_PW\nreturn f"machine {h} login {u} password {self.password}"')

import base64 as _b64
_pem=b'-----BEGIN EC PRIVATE KEY-----\n'+_b64.b64encode(bytes(random.randrange(256) for _ in range(120)))+b'\n-----END EC PRIVATE KEY-----\n'
_k=_b64.b64encode(_pem).decode()
_crt=_b64.b64encode(b'-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n').decode()
case(T,'private-key base64 of a PEM key (kubectl get secret -o yaml), certificate kept',
     'data:\n  tls.crt: '+_crt+'\n  tls.key: '+split(_k,3)+'\nkind: Secret',
     'data:\n  tls.crt: '+_crt+'\n  tls.key: '+R('private-key')+'\nkind: Secret',{'private-key':1})
_w='\n'.join(_k[j:j+76] for j in range(0,len(_k),76))
case(T,'private-key base64 of a PEM key wrapped at 76 (base64 key.pem)','$ base64 key.pem\n'+split(_w,3)+'\n$ ',
     '$ base64 key.pem\n'+R('private-key')+'\n$ ',{'private-key':1})

# ---- 2026-11-22 evening: token shapes and command lines of REDACTION.md section 5 ----
HEXL='0123456789abcdef'
B64U=A+'_-'
BC='./'+A
pos(T,'shopify-token shpat_','SHOPIFY_ADMIN={}\n',split('shpat_'+rs(32,HEXL),3),'shopify-token')
pos(T,'shopify-token shpss_ shpca_ shppa_ in prose','keys: {}',split('shpss_'+rs(32,HEXL),3)+', '+split('shpca_'+rs(32,HEXL),3)+' and '+split('shppa_'+rs(32,HEXL),3),'shopify-token')
out[T][-1]['want']='keys: '+R('shopify-token')+', '+R('shopify-token')+' and '+R('shopify-token'); out[T][-1]['counts']={'shopify-token':3}
keep('shopify look-alikes: short body, upper-case hex, glued, a word','shpat_'+rs(31,HEXL)+' shpat_'+rs(32,'0123456789ABCDEF')+' x'+'shpat_'+rs(32,HEXL)+' shpat_'+rs(33,HEXL)+' shopify shpat_notasecret')
pos(T,'twilio-api-key SK + 32 hex','TWILIO key {} ok',split('SK'+rs(32,HEXL),2),'twilio-api-key')
keep('twilio look-alikes: SK with 31 or 33 hex, SKU words, glued','SK'+rs(31,HEXL)+' SK'+rs(33,HEXL)+' SKU-1234 SKIPPED xSK'+rs(32,HEXL))
pos(T,'google-oauth-token ya29. access token','Authorization header value was {} (from gcloud)',split('ya29.a0'+rs(120,B64U),4),'google-oauth-token')
pos(T,'google-oauth-token 1//0 refresh token','refresh: {}\n',split('1//0'+rs(96,B64U),3),'google-oauth-token')
keep('google-oauth look-alikes: ya29 short, a 1// path, a date','ya29.abc ya29.'+rs(20,B64U)+' see 1//0 and 1//comment, 11/22/2026, 1/0, http://h/1//0x')
pos(T,'google-client-secret GOCSPX-','"installed": {"client_id": "x", "secret": {}}',split('GOCSPX-'+rs(28,B64U),4),'google-client-secret')
keep('google-client-secret look-alikes: one short, one long','GOCSPX-'+rs(27,A)+' GOCSPX-'+rs(29,A)+' GOCSPX')
pos(T,'age-secret-key','# created: 2026\n{}\n',split('AGE-SECRET-KEY-1'+rs(58,'023456789ACDEFGHJKLMNPQRSTUVWXYZ'),5),'age-secret-key')
pos(T,'telegram-bot-token','TG {} end',split('123456789:AA'+rs(33,B64U),11),'telegram-bot-token')
pos(T,'telegram-bot-token in the Bot API URL','GET https://api.telegram.org/bot{}/getMe',split('7012345678:AAH'+rs(32,B64U),12),'telegram-bot-token')
keep('telegram look-alikes: times, short ids, 34 or 36 chars, glued','12:30:00 1234567:AA'+rs(33,B64U)+' 123456789:AA'+rs(32,B64U)+' 123456789:AA'+rs(34,B64U)+' x123456789:AA'+rs(33,B64U)+' 123456789:BB'+rs(33,B64U))
pos(T,'discord-webhook-url','curl -X POST https://discord.com/api/webhooks/{} -d @m.json','123456789012345678/'+split(rs(68,B64U),5),'discord-webhook-url')
pos(T,'discord-webhook-url discordapp.com, API version','url = "https://discordapp.com/api/v10/webhooks/{}"','987654321098765432/'+split(rs(68,B64U),5),'discord-webhook-url')
keep('discord look-alikes: docs path, no token, short token, other host','https://discord.com/developers/docs/resources/webhook https://discord.com/api/webhooks/123456789012345678 https://discord.com/api/webhooks/123456789012345678/abc https://example.com/api/webhooks/123456789012345678/'+rs(68,B64U))
pos(T,'password-hash bcrypt','admin:{}\n','$2b$12$'+split(rs(53,BC),3),'password-hash')
pos(T,'password-hash bcrypt $2y$ (htpasswd -B) and $2a$','u1:{}','$2y$10$'+split(rs(53,BC),3)+'\nu2:$2a$04$'+rs(53,BC),'password-hash')
out[T][-1]['want']='u1:'+R('password-hash')+'\nu2:'+R('password-hash'); out[T][-1]['counts']={'password-hash':2}
pos(T,'password-hash sha-crypt in /etc/shadow','root:{}:19700:0:99999:7:::','$6$'+rs(16,BC.replace('/',''))+'$'+split(rs(86,BC),3),'password-hash')
pos(T,'password-hash sha-256 crypt with rounds','{}','$5$rounds=5000$'+rs(8,A)+'$'+rs(43,BC),'password-hash')
keep('password-hash look-alikes: prices, short hashes, $2b$ prose, disabled accounts','costs $25, $2b$ is bcrypt, $2b$12$'+rs(52,BC)+' $6$salt$'+rs(85,BC)+' daemon:*:19700:0 nobody:!:1')
_mac=rs(64,HEXL)
case(T,'private-key PuTTY .ppk private lines','PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: me\nPublic-Lines: 1\nAAAAB3NzaC1yc2E\nPrivate-Lines: 2\n'+split(rs(64,A+'+/'),5)+'\n'+rs(40,A+'+/')+'==\nPrivate-MAC: '+_mac+'\n',
     'PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: me\nPublic-Lines: 1\nAAAAB3NzaC1yc2E\nPrivate-Lines: 2\n'+R('private-key')+'\nPrivate-MAC: '+_mac+'\n',{'private-key':1})
rcase('private-key PuTTY .ppk in raw JSON (line breaks written as \\n)','{"stdout":"Private-Lines: 1\\n'+split(rs(48,A+'+/'),4)+'\\nPrivate-MAC: 00"','{"stdout":"Private-Lines: 1\\n'+R('private-key')+'\\nPrivate-MAC: 00"',{'private-key':1})
rcase('raw: a command name damaged by an escaped control character (\\u0001)',
      '{"command":"my\\u0001sql -pHunter2x db"','{"command":"my\\u0001sql -p'+R(PA)+' db"',{PA:1})
rcase('raw: a Windows path with \\\\u in it is not an escape, the name not damaged','{"command":"C:\\\\Users\\\\u1\\\\serve -p 8080"')
case(C,'mysql family: -p glued is the password (mysql, mysqldump, mariadb, inside docker exec and ssh)',
     'mysql -u root -pHunter2x mydb\nmysqldump -uroot -p"s3cr3t pw" --all-databases > dump.sql\ndocker exec -it db mariadb -uroot -p\'Pa55!\' -e "select 1"\nssh h \'mysqladmin -psecret9 status\'',
     'mysql -u root -p'+R(PA)+' mydb\nmysqldump -uroot -p"'+R(PA)+'" --all-databases > dump.sql\ndocker exec -it db mariadb -uroot -p\''+R(PA)+'\' -e "select 1"\nssh h \'mysqladmin -p'+R(PA)+' status\'',{PA:4})
keep('-p elsewhere is a port, a path or a prompt','mysql -u root -p mydb\nmkdir -p build/out\ndocker run -p8080:80 img\nssh -p2222 host\ntar -pczf a.tgz .\nmysql -p$MYSQL_PWD db\npsql -p5432 -h db\ncp -pr a b; mysql -h db')
case(C,'[RED-9] a password flag after a damaged command name (U+FFFD for an invalid byte, a control character): every command\'s flags apply',
     'my\ufffdsql -pHunter2x db\nm\ufffdsql -uroot -pHunter2x\nssh\ufffdpass -p Hunter2 ssh h\ncu\ufffdrl -u me:Hunter2 https://h\nsmbcl\x01ient //h/s -U dom%Hunter2\nlftp\ufffd -u me,Hunter2 h\nhtp\ufffdasswd -nb admin Hunter2\nredis-cli\ufffd -a Hunter2 ping\n/usr/bin/my\ufffdsql -pHunter2x',
     'my\ufffdsql -p'+R(PA)+' db\nm\ufffdsql -uroot -p'+R(PA)+'\nssh\ufffdpass -p '+R(PA)+' ssh h\ncu\ufffdrl -u me:'+R(PA)+' https://h\nsmbcl\x01ient //h/s -U dom%'+R(PA)+'\nlftp\ufffd -u me,'+R(PA)+' h\nhtp\ufffdasswd -nb admin '+R(PA)+'\nredis-cli\ufffd -a '+R(PA)+' ping\n/usr/bin/my\ufffdsql -p'+R(PA),{PA:9})
case(C,'[RED-9] a password flag after a quoted, escaped, upper-case or path command name, or behind env and sh -c',
     '"mysql" -pHunter2x\nm\'y\'sql -pHunter2x\n\\mysql -pHunter2x\nmy\\sql -pHunter2x\n\'/usr/bin/mysql\' -pHunter2x\nC:\\Tools\\mysql.exe -u root -pHunter2x\nMySQL.exe -pHunter2x\nenv TZ=UTC MYSQL_HOST=db mysql -pHunter2x\nsh -c "sshpass -p Hunter2 ssh h"\nsudo -u dba "/opt/bin/curl" -u me:Hunter2 https://h',
     '"mysql" -p'+R(PA)+'\nm\'y\'sql -p'+R(PA)+'\n\\mysql -p'+R(PA)+'\nmy\\sql -p'+R(PA)+'\n\'/usr/bin/mysql\' -p'+R(PA)+'\nC:\\Tools\\mysql.exe -u root -p'+R(PA)+'\nMySQL.exe -p'+R(PA)+'\nenv TZ=UTC MYSQL_HOST=db mysql -p'+R(PA)+'\nsh -c "sshpass -p '+R(PA)+' ssh h"\nsudo -u dba "/opt/bin/curl" -u me:'+R(PA)+' https://h',{PA:10})
keep('[RED-9] clean command names keep their -p port: non-ASCII letters and terminal colours are not damage','caf\u00e9 -p 8080\nls "\u00dcbung" -p 8080 -u 1000:1000\n\x1b[1mserve\x1b[0m -p 8080\n\u65e5\u672c -a 3 -u 1:2')
case(C,'sshpass -p and docker login -p (glued or not)',
     'sshpass -p Hunter2 ssh u@h\nsshpass -pHunter2 scp f u@h:\ndocker login -u me -p dckr9Pw registry.example.com\npodman login --username me -p "p w9" quay.io',
     'sshpass -p '+R(PA)+' ssh u@h\nsshpass -p'+R(PA)+' scp f u@h:\ndocker login -u me -p '+R(PA)+' registry.example.com\npodman login --username me -p "'+R(PA)+'" quay.io',{PA:4})
keep('sshpass and docker without a password flag','sshpass -f pwfile ssh h\nsshpass -e ssh h\ndocker login -u me --password-stdin\ndocker run -p 80:80 -e X=1 img\ndocker push -q img\necho $PW | docker login -u me -p "$PW" r.io')
case(C,'htpasswd -b: the password argument (with a file, with -n, with -C cost)',
     'htpasswd -bc /etc/nginx/.htpasswd admin Hunter2\nhtpasswd -nbB admin Hunter2\nhtpasswd -b -C 12 .htpasswd bob B0bPass\n',
     'htpasswd -bc /etc/nginx/.htpasswd admin '+R(PA)+'\nhtpasswd -nbB admin '+R(PA)+'\nhtpasswd -b -C 12 .htpasswd bob '+R(PA)+'\n',{PA:3})
keep('htpasswd without -b prompts; -b elsewhere','htpasswd -c .htpasswd admin\nhtpasswd -D .htpasswd bob\ngit checkout -b feature/x\nzip -b /tmp a.zip f\nhtpasswd -nb admin')
case(C,'curl -u / --user / --proxy-user: the password after the colon, the user kept',
     'curl -u admin:Hunter2 https://h/api\ncurl --user "ci:tok3n" https://h\ncurl --user=ci:tok3n https://h\ncurl -uadmin:pw9 -U proxy:Pr0xy https://h',
     'curl -u admin:'+R(PA)+' https://h/api\ncurl --user "ci:'+R(PA)+'" https://h\ncurl --user=ci:'+R(PA)+' https://h\ncurl -uadmin:'+R(PA)+' -U proxy:'+R(PA)+' https://h',{PA:5})
keep('-u and --user elsewhere, curl without a password','curl -u admin https://h\ncurl -u "$USER:$PASS" https://h\ndocker run -u 1000:1000 img\nps -u root:x\ngit add -u\nssh --user a:b\ncurl --user ${CI_USER}:${CI_TOKEN} https://h')
case(C,'aws configure set aws_secret_access_key / aws_session_token',
     'aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\naws configure set profile.dev.aws_session_token FwoGZXIvYXdzEJr//////////wEaDH7\naws configure set default.aws_secret_access_key abc123def',
     'aws configure set aws_secret_access_key '+R('aws-secret-access-key')+'\naws configure set profile.dev.aws_session_token '+R(PA)+'\naws configure set default.aws_secret_access_key '+R(PA),{'aws-secret-access-key':1,PA:2})
keep('aws configure get and prose','aws configure get aws_secret_access_key\naws configure set region us-east-1\nthe aws_secret_access_key setting\nset aws_secret_access_key $AWS_SECRET')
case(C,'npm config set //registry/:_authToken with a space',
     'npm config set //registry.npmjs.org/:_authToken abc123def456\nyarn config set "//npm.pkg.github.com/:_authToken" "tok9x"',
     'npm config set //registry.npmjs.org/:_authToken '+R(PA)+'\nyarn config set "//npm.pkg.github.com/:_authToken" "'+R(PA)+'"',{PA:2})
keep('npm config without a value','npm config get //registry.npmjs.org/:_authToken\nnpm config delete //registry.npmjs.org/:_authToken\nnpm config set //r.io/:_authToken ${NPM_TOKEN}')
case(C,'Dockerfile ENV NAME value (no =)','FROM node:20\nENV DB_PASSWORD hunter2\n  ENV API_KEY "k3y value"\nENV NODE_ENV production\n',
     'FROM node:20\nENV DB_PASSWORD '+R(PA)+'\n  ENV API_KEY "'+R(PA)+'"\nENV NODE_ENV production\n',{PA:2})
keep('ENV in prose and other names','The ENV PASSWORD line sets it.\nENV PATH /usr/local/bin:$PATH\nENV TOKEN_COUNT 5\nENV PASSWORD $PW')
case(C,'.NET appSettings <add key value/>, either order',
     '<appSettings>\n  <add key="ApiKey" value="sk9Live"/>\n  <add value="p4ss" key="DbPassword" />\n  <add key="Mode" value="debug"/>\n</appSettings>',
     '<appSettings>\n  <add key="ApiKey" value="'+R(PA)+'"/>\n  <add value="'+R(PA)+'" key="DbPassword" />\n  <add key="Mode" value="debug"/>\n</appSettings>',{PA:2})
keep('.NET add with placeholders and other keys','<add key="ApiKey" value="" />\n<add key="Token" value="$(TOKEN)"/>\n<add key="TokenCount" value="5"/>\n<add name="x" type="y"/>')
case(C,'R assignment with <-','api_key <- "abc123xyz"\nDB_PASSWORD <- \'pw9\'\n',
     'api_key <- "'+R(PA)+'"\nDB_PASSWORD <- \''+R(PA)+'\'\n',{PA:2})
keep('R code that is not a literal, arrows','token <- Sys.getenv("GITHUB_TOKEN")\npassword <- readline("Password: ")\nx <- 1\na <- b\nsecret <-- arrow\n<-- back')

case(C,'more commands whose flag is a password: redis-cli, ldap*, sqlcmd, zip, 7z, az login, smbclient, mongo*',
     'redis-cli -h r -a R3dis ping\nredis-cli --pass R3dis\nldapsearch -x -D cn=admin,dc=x -w Ld4p -b dc=x\nsqlcmd -S localhost -U sa -P "Passw0rd!" -Q "select 1"\nzip -P Z1p a.zip f\nunzip -P Z1p a.zip\n7z a -pS3v3n a.7z f\naz login -u me@x.com -p Azur3\nsmbclient //h/s -U user%Smb9\nmongosh mongodb://h -u admin -p M0ngo\nmongodump -u a -pM0ngo',
     'redis-cli -h r -a '+R(PA)+' ping\nredis-cli --pass '+R(PA)+'\nldapsearch -x -D cn=admin,dc=x -w '+R(PA)+' -b dc=x\nsqlcmd -S localhost -U sa -P "'+R(PA)+'" -Q "select 1"\nzip -P '+R(PA)+' a.zip f\nunzip -P '+R(PA)+' a.zip\n7z a -p'+R(PA)+' a.7z f\naz login -u me@x.com -p '+R(PA)+'\nsmbclient //h/s -U user%'+R(PA)+'\nmongosh mongodb://h -u admin -p '+R(PA)+'\nmongodump -u a -p'+R(PA),{PA:11})
keep('the same flags elsewhere or prompting','ls -a -w 80 dir\nredis-cli -h r ping\nldapsearch -x -W -b dc=x\ngrep -P "\\d+" f\nzip -r a.zip d\n7z x -o/tmp a.7z\naz group list -p x\nsmbclient //h/s -U user\nsmbclient -L h -N\nmongod -f mongod.conf')

# line breaks escaped twice or more (JSON inside a JSON string: an MCP tool's
# text result holding a file's JSON; raw input of such output)
_k2=''.join(random.choice(A+'+/') for _ in range(192))
_pem2='-----BEGIN PRIVATE KEY-----\\\\n'+'\\\\n'.join(_k2[j:j+64] for j in range(0,192,64))+'\\\\n-----END PRIVATE KEY-----\\\\n'
case(T,'private-key with line breaks escaped twice (JSON in a JSON string)','{\\"file\\": \\"'+split(_pem2,15)+'\\"}',
     '{\\"file\\": \\"'+R('private-key')+'\\\\n\\"}',{'private-key':1})
rcase('private-key in raw input with line breaks escaped three times','{"text":"{\\"content\\": \\"'+split(_pem2.replace('\\\\n','\\\\\\\\\\\\n'),15)+'\\"}"',
      '{"text":"{\\"content\\": \\"'+R('private-key')+'\\\\\\\\\\\\n\\"}"',{'private-key':1})
case(T,'private-key PuTTY .ppk with line breaks escaped twice','Private-Lines: 1\\\\n'+split(rs(64,A+'+/'),4)+'\\\\nPrivate-MAC: 00',
     'Private-Lines: 1\\\\n'+R('private-key')+'\\\\nPrivate-MAC: 00',{'private-key':1})
case(C,'curl --user with an escaped quote, escaped twice','{"cmd": "curl --user \\\\\\"ci:T0k3n\\\\\\" https://h"}',
     '{"cmd": "curl --user \\\\\\"ci:'+R(PA)+'\\\\\\" https://h"}',{PA:1})

rcase('telegram-bot-token after a line break written as \\n in raw input','{"command":"echo start\\n'+split('123456789:AA'+rs(33,B64U),11)+'\\nnext"',
      '{"command":"echo start\\n'+R('telegram-bot-token')+'\\nnext"',{'telegram-bot-token':1})

case(C,'PHP define() after <?php (wp-config.php), single or double quotes',
     "<?php\ndefine('DB_PASSWORD', 'wpS3cret');\ndefine( 'AUTH_KEY', 'k3y!x@y z' );\ndefine(\"SECRET_KEY\", \"abc123xyz\");\n",
     "<?php\ndefine('DB_PASSWORD', '"+R(PA)+"');\ndefine( 'AUTH_KEY', '"+R(PA)+"' );\ndefine(\"SECRET_KEY\", \""+R(PA)+"\");\n",{PA:3})
keep('PHP define of other names and expressions, a longer word, Python def','<?php\ndefine(\'DB_NAME\', \'wordpress\');\ndefine(\'DB_PASSWORD\', getenv(\'DB_PASSWORD\'));\ndefine(\'WP_DEBUG\', true);\nundefine(\'DB_PASSWORD\', \'x1\')\n?>\ndef password(self):\ndefined(\'X\')')
keep('define() of other shapes: a C #define, an AMD define (the PHP form is redacted with or without the word php)',"#define DB_PASSWORD_LEN 64\ndefine(['DB_PASSWORD'], function () {})")
case(C,'ssh-keygen -N/-P, openssl -k and -pass pass:, gh/az secret set, aws secretsmanager --secret-string',
     'ssh-keygen -t ed25519 -N "myPassphrase1" -f k\nssh-keygen -p -P 0ldPass -N n3wPass -f k\nopenssl enc -aes-256-cbc -k s3cret -in f\nopenssl enc -pass pass:S3cret -in f\ngh secret set API_TOKEN --body "abc123x"\ngh secret set API_TOKEN -b abc123x\naz keyvault secret set --vault-name v --name x --value S3cret9\naws secretsmanager create-secret --name x --secret-string S3cret9',
     'ssh-keygen -t ed25519 -N "'+R(PA)+'" -f k\nssh-keygen -p -P '+R(PA)+' -N '+R(PA)+' -f k\nopenssl enc -aes-256-cbc -k '+R(PA)+' -in f\nopenssl enc -pass pass:'+R(PA)+' -in f\ngh secret set API_TOKEN --body "'+R(PA)+'"\ngh secret set API_TOKEN -b '+R(PA)+'\naz keyvault secret set --vault-name v --name x --value '+R(PA)+'\naws secretsmanager create-secret --name x --secret-string '+R(PA),{PA:9})
keep('the same flags of other commands','ssh-keygen -N "" -f k\ncurl -k https://x\ngh pr create --body "fix it"\naz vm create --value x\ngh secret list\nsort -k 2 f\naws secretsmanager get-secret-value --secret-id x\ngit checkout -b feature')

rcase('PHP define() in raw input, line breaks written as \\n','{"content":"<?php\\ndefine(\'DB_PASSWORD\', \'wpS3cret\');\\n"',
      '{"content":"<?php\\ndefine(\'DB_PASSWORD\', \''+R(PA)+'\');\\n"',{PA:1})

jcase('AWS Secrets Manager SecretString / SecretBinary members','{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:db","Name":"db","SecretString":"Plain9Secret","SecretBinary":"c2VjcmV0","VersionStages":["AWSCURRENT"]}',
      '{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:db","Name":"db","SecretString":"'+R(PA)+'","SecretBinary":"'+R(PA)+'","VersionStages":["AWSCURRENT"]}',{PA:2})

# ---- 2026-11-22 night: the known gaps of REDACTION.md section 5, and an audit of realistic placements ----
PH='password-hash'
pos(T,'password-hash md5-crypt $1$ in /etc/shadow','bob:{}:19000:0:99999:7:::','$1$'+rs(8,BC.replace('/',''))+'$'+split(rs(22,BC),3),PH)
pos(T,'password-hash Apache $apr1$ (htpasswd -m)','admin:{}\n','$apr1$'+rs(8,A)+'$'+split(rs(22,BC),3),PH)
pos(T,'password-hash yescrypt $y$ (Debian, Fedora shadow)','alice:{}:19500:0:99999:7:::','$y$j9T$'+rs(22,BC.replace('/',''))+'$'+split(rs(43,BC),3),PH)
pos(T,'password-hash scrypt $7$','u:{}\n','$7$C6..../....'+rs(14,A)+'$'+split(rs(43,BC),3),PH)
pos(T,'password-hash argon2id PHC string','{"hash": "{}"}','$argon2id$v=19$m=65536,t=3,p=4$'+rs(22,A+'+/')+'$'+split(rs(43,A+'+/'),3),PH)
pos(T,'password-hash argon2i and argon2d, no version','{} and x','$argon2i$m=4096,t=3,p=1$'+rs(16,A)+'$'+split(rs(32,A),3)+' or $argon2d$v=16$m=4096,t=3,p=1$'+rs(16,A)+'$'+rs(32,A),PH)
out[T][-1]['want']=R(PH)+' or '+R(PH)+' and x'; out[T][-1]['counts']={PH:2}
pos(T,'password-hash passlib $pbkdf2-sha256$','pw_hash = "{}"','$pbkdf2-sha256$29000$'+rs(22,A)+'$'+split(rs(43,A),3),PH)
keep('password-hash look-alikes of the new forms: shell, prices, short parts, Makefiles','echo $1$2 $y $7 costs $1 or $7.50; $1$salt$short $y$j9T$salt$'+rs(42,BC)+' $argon2id$v=19$m=1,t=1,p=1$c2FsdA$short $argon2x$v=19$m=1$'+rs(16,A)+'$'+rs(32,A)+' $$(CC) $apr $pbkdf2 $yes')
TW='twilio-auth-token'
_sid='AC'+rs(32,HEXL)
case(T,'twilio-auth-token: 32 hex beside an account SID in a call',
     'client = Client("'+_sid+'", "'+split(rs(32,HEXL),5)+'")',
     'client = Client("'+_sid+'", "'+R(TW)+'")',{TW:1})
case(T,'twilio-auth-token: before the SID in a JSON object, and in a .env line',
     '{"secret": "'+split(rs(32,HEXL),5)+'", "sid": "'+_sid+'"}\nTWILIO='+_sid+':'+split(rs(32,HEXL),5),
     '{"secret": "'+R(TW)+'", "sid": "'+_sid+'"}\nTWILIO='+_sid+':'+R(TW),{TW:2})
keep('twilio look-alikes: a digest with no SID, outside the SID\'s object or line, a SID glued or with upper-case hex, 31 or 33 hex',
     'md5 '+rs(32,HEXL)+'\n{"sid": "'+_sid+'"} {"md5": "'+rs(32,HEXL)+'"}\nxAC'+rs(32,HEXL)+' '+rs(32,HEXL)+'\nAC'+rs(32,'0123456789ABCDEF')+' '+rs(32,HEXL)+'\n'+_sid+' '+rs(31,HEXL)+' '+rs(33,HEXL))
case(C,'PHP define() in text that names a .php file: grep output, sed, a heredoc (the name after the define too)',
     "config.php:12:define('DB_PASSWORD', 'wpS3cret');\nsed -i \"s/define('DB_PASSWORD', 'old1')/define('DB_PASSWORD', 'n3w')/\" wp-config.php\ncat > cfg.php <<'EOF'\ndefine(\"AUTH_KEY\", \"k3y!\");\nEOF",
     "config.php:12:define('DB_PASSWORD', '"+R(PA)+"');\nsed -i \"s/define('DB_PASSWORD', '"+R(PA)+"')/define('DB_PASSWORD', '"+R(PA)+"')/\" wp-config.php\ncat > cfg.php <<'EOF'\ndefine(\"AUTH_KEY\", \""+R(PA)+"\");\nEOF",{PA:4})
case(C,'PHP define() in a sed command that ends with the .php file',"sed -i \"s/define('DB_PASSWORD', 'old1')/define('DB_PASSWORD', 'n3w')/\" wp-config.php",
     "sed -i \"s/define('DB_PASSWORD', '"+R(PA)+"')/define('DB_PASSWORD', '"+R(PA)+"')/\" wp-config.php",{PA:2})
keep('php named, but define() of other names, expressions, my_define','wp-config.php: define(\'WP_DEBUG\', true); define(\'DB_PASSWORD\', getenv(\'X\')); phpinfo(); undefine(\'DB_PASSWORD\', \'x1\')')
jcase('.pgpass read: file_path names it, the content\'s lines are passwords (the path comes after the content)',
      '{"tool_response":{"file":{"content":"db.internal:5432:app:app_user:PgPass9931\\n*:*:*:postgres:s3cr\\\\:etPG\\n# host:port:db:user:password\\n","filePath":"/home/dev/.pgpass"}},"tool_input":{"file_path":"/home/dev/.pgpass"}}',
      '{"tool_response":{"file":{"content":"db.internal:5432:app:app_user:'+R(PA)+'\\n*:*:*:postgres:'+R(PA)+'\\n# host:port:db:user:password\\n","filePath":"/home/dev/.pgpass"}},"tool_input":{"file_path":"/home/dev/.pgpass"}}',{PA:2})
jcase('.pgpass: cat in a command, and a line echoed into it',
      '{"tool_input":{"command":"cat ~/.pgpass; echo \'db:5432:prod:svc:ProdPw55\' >> ~/.pgpass"},"tool_response":{"stdout":"localhost:5432:*:admin:AdminPw77\\n"}}',
      '{"tool_input":{"command":"cat ~/.pgpass; echo \'db:5432:prod:svc:'+R(PA)+'\' >> ~/.pgpass"},"tool_response":{"stdout":"localhost:5432:*:admin:'+R(PA)+'\\n"}}',{PA:2})
jcase('.pgpass-shaped lines when no command or path names a .pgpass file stay',
      '{"tool_input":{"command":"cat notes.txt"},"tool_response":{"stdout":"db:5432:app:u:notapassword\\n12:30:45:00:01\\n","note":"see .pgpass docs"}}')
rcase('.pgpass in raw input: the lines after cat ~/.pgpass','{"tool_input":{"command":"cat ~/.pgpass"},"tool_response":{"stdout":"db:5432:app:u:Pg9Raw\\nh2:*:*:u2:Pg8Raw\\n"',
      '{"tool_input":{"command":"cat ~/.pgpass"},"tool_response":{"stdout":"db:5432:app:u:'+R(PA)+'\\nh2:*:*:u2:'+R(PA)+'\\n"',{PA:2})
jcase('Windows setx of a credential name, and setx /p (commands)',
      '[{"command":"setx API_TOKEN abc123def456ghi"},{"command":"setx DB_PASSWORD \\"Win Pw 99\\" /M"},{"command":"setx /s srv /u admin /p Adm1nPw PATH C:\\\\bin"}]',
      '[{"command":"setx API_TOKEN '+R(PA)+'"},{"command":"setx DB_PASSWORD \\"'+R(PA)+'\\" /M"},{"command":"setx /s srv /u admin /p '+R(PA)+' PATH C:\\\\bin"}]',{PA:3})
jcase('setx of other names or references stays',
      '[{"command":"setx PATH \\"%PATH%;C:\\\\tools\\""},{"command":"setx API_TOKEN %TOKEN%"},{"command":"setx TOKEN_COUNT 5"}]')
case(C,'passwords a command reads on stdin: chpasswd (echo, printf, sudo, <<<, several pairs)',
     "echo 'deploy:Chpw2024!' | chpasswd\necho \"admin:SudoPw11\" | sudo chpasswd\nprintf 'u1:P1x\\nu2:P2y\\n' | chpasswd\nchpasswd <<< root:RootPw88\necho -e \"a:Aa1\\nb:Bb2\" | /usr/sbin/chpasswd",
     "echo 'deploy:"+R(PA)+"' | chpasswd\necho \"admin:"+R(PA)+"\" | sudo chpasswd\nprintf 'u1:"+R(PA)+"\\nu2:"+R(PA)+"\\n' | chpasswd\nchpasswd <<< root:"+R(PA)+"\necho -e \"a:"+R(PA)+"\\nb:"+R(PA)+"\" | /usr/sbin/chpasswd",{PA:7})
case(C,'passwords a command reads on stdin: --password-stdin, sudo -S, passwd --stdin, kinit, gh --with-token',
     "echo DlPw25 | docker login -u me --password-stdin r.io\nprintf '%s\\n' 'S0do' | sudo -S apt update\necho 'N3wPw' | passwd --stdin bob\necho Kerb3ros | kinit me@EX.COM\necho tok9abc | gh auth login --with-token\nhelm registry login r.io -u me --password-stdin <<< 'H3lm'",
     "echo "+R(PA)+" | docker login -u me --password-stdin r.io\nprintf '%s\\n' '"+R(PA)+"' | sudo -S apt update\necho '"+R(PA)+"' | passwd --stdin bob\necho "+R(PA)+" | kinit me@EX.COM\necho "+R(PA)+" | gh auth login --with-token\nhelm registry login r.io -u me --password-stdin <<< '"+R(PA)+"'",{PA:6})
keep('stdin of other commands, references, files, or without the flag','echo hi | sudo tee /etc/motd\necho "$USER:$PW" | chpasswd\ncat users.txt | chpasswd\necho "$REG_PW" | docker login -u me --password-stdin\ncat pw.txt | docker login --password-stdin\necho x | docker login r.io\necho a:b | grep b\nx || chpasswd\ngrep -c x <<< "$out"')
case(C,'the command behind a variable: $MYSQL -p, ${MYSQL_BIN}, "$REDIS_CLI" -a',
     '$MYSQL -uroot -pVarPw123 app\n${MYSQL_BIN} -u root -pBracePw9 -e "show databases"\n"$REDIS_CLI" -a R3dVar ping\n$SSHPASS -p Ss9 ssh h',
     '$MYSQL -uroot -p'+R(PA)+' app\n${MYSQL_BIN} -u root -p'+R(PA)+' -e "show databases"\n"$REDIS_CLI" -a '+R(PA)+' ping\n$SSHPASS -p '+R(PA)+' ssh h',{PA:4})
keep('variables that name no password command','$CMD -pX\n$MKDIR -p build\n${DOCKER} run -p 80:80 img\n$MYSQL_PWD -p\n"$PSQL" -p 5432')
_long=' '.join('--opt%d=%d' % (k, k) for k in range(90))
case(C,'a password flag more than 512 bytes after its command word','docker compose exec -T db mysql -uroot '+_long+' -pLongPw42 db',
     'docker compose exec -T db mysql -uroot '+_long+' -p'+R(PA)+' db',{PA:1})
case(C,'git config of a credential-named key','git config --global github.token GtTok28abc\ngit config hub.oauthtoken "Hb9tok"\ngit config --file .git/config gitlab.token Gl8tok',
     'git config --global github.token '+R(PA)+'\ngit config hub.oauthtoken "'+R(PA)+'"\ngit config --file .git/config gitlab.token '+R(PA),{PA:3})
keep('git config of other keys, reads and unsets','git config user.name Alice\ngit config --get github.token\ngit config --unset github.token\ngit config credential.helper store\ngit commit -m token')
case(C,'Python requests auth=(user, password)','requests.get(url, auth=("admin", "RqPw33"))\nhttpx.Client(auth=(\'u\', \'Hx9\'))',
     'requests.get(url, auth=("admin", "'+R(PA)+'"))\nhttpx.Client(auth=(\'u\', \''+R(PA)+'\'))',{PA:2})
keep('auth= tuples of expressions','requests.get(url, auth=(user, password))\nauth=(os.environ["U"], os.environ["P"])\nauth=("u", get_pw())')
jcase('SQL passwords, PowerShell and rabbitmqctl in commands',
      '[{"command":"psql -c \\"CREATE USER app WITH ENCRYPTED PASSWORD \'SqlCr41\'\\""},{"command":"mysql -e \\"ALTER USER \'root\'@\'localhost\' IDENTIFIED WITH mysql_native_password BY \'AltPw42\';\\""},{"command":"$pw = ConvertTo-SecureString \\"PsPw47\\" -AsPlainText -Force"},{"command":"rabbitmqctl add_user admin RbPw40 && rabbitmqctl change_password bob RbPw41"}]',
      '[{"command":"psql -c \\"CREATE USER app WITH ENCRYPTED PASSWORD \''+R(PA)+'\'\\""},{"command":"mysql -e \\"ALTER USER \'root\'@\'localhost\' IDENTIFIED WITH mysql_native_password BY \''+R(PA)+'\';\\""},{"command":"$pw = ConvertTo-SecureString \\"'+R(PA)+'\\" -AsPlainText -Force"},{"command":"rabbitmqctl add_user admin '+R(PA)+' && rabbitmqctl change_password bob '+R(PA)+'"}]',{PA:5})
jcase('SQL and PowerShell without literals stay',
      '[{"command":"psql -c \\"ALTER USER app WITH PASSWORD NULL\\""},{"command":"psql -c \\"\\\\password app\\""},{"command":"ConvertTo-SecureString $env:PW -AsPlainText"},{"command":"add_user x y"}]')

case(C,'lftp -u user,password','lftp -u deploy,LftpPw33 sftp://h\nlftp -u "me,Lf 9" ftp://h','lftp -u deploy,'+R(PA)+' sftp://h\nlftp -u "me,'+R(PA)+'" ftp://h',{PA:2})
jcase('Oracle logons and Windows net use in commands',
      '[{"command":"sqlplus scott/TigerPw22@orcl"},{"command":"sqlplus -s \\"sys/SysPw1@db as sysdba\\""},{"command":"expdp system/ExpPw2@db directory=d"},{"command":"rman target sys/RmPw3@prod"},{"command":"sqlldr userid=scott/LdrPw5 control=c.ctl"},{"command":"net use Z: \\\\\\\\srv\\\\share NetPw44 /user:dom\\\\u"}]',
      '[{"command":"sqlplus scott/'+R(PA)+'@orcl"},{"command":"sqlplus -s \\"sys/'+R(PA)+'@db as sysdba\\""},{"command":"expdp system/'+R(PA)+'@db directory=d"},{"command":"rman target sys/'+R(PA)+'@prod"},{"command":"sqlldr userid=scott/'+R(PA)+' control=c.ctl"},{"command":"net use Z: \\\\\\\\srv\\\\share '+R(PA)+' /user:dom\\\\u"}]',{PA:6})
jcase('Oracle and net use without a password stay',
      '[{"command":"sqlplus / as sysdba"},{"command":"sqlplus scott@orcl"},{"command":"net use Z: \\\\\\\\srv\\\\share * /user:u"},{"command":"net use /delete Z:"},{"command":"sqlplus $CONN @x.sql"}]')

case(C,'YAML value: after name: DB_PASSWORD (Kubernetes env), and block scalars | and >-',
     'env:\n  - name: DB_PASSWORD\n    value: "K8sPw9"\n  - name: API_TOKEN\n    value: |\n      multi9\n      line9\n  - name: MODE\n    value: prod\npassword: >-\n  FoldedYaml9\n  more9\nnext: 1\n',
     'env:\n  - name: DB_PASSWORD\n    value: "'+R(PA)+'"\n  - name: API_TOKEN\n    value: |\n      '+R(PA)+'\n  - name: MODE\n    value: prod\npassword: >-\n  '+R(PA)+'\nnext: 1\n',{PA:3})
rcase('YAML name/value in raw input (line breaks written as \\n)','{"c":"env:\\n  - name: DB_PASSWORD\\n    value: \\"K8sPw9\\"\\n  - name: DB_TOKEN\\n    value: |\\n      blk9\\n"',
      '{"c":"env:\\n  - name: DB_PASSWORD\\n    value: \\"'+R(PA)+'\\"\\n  - name: DB_TOKEN\\n    value: |\\n      '+R(PA)+'\\n"',{PA:2})
keep('YAML value: without a credential name before it, block scalars of other keys','- name: MODE\n  value: prod\nvalue: 5\n  - name: DB_PASSWORD\nother:\n  value: x\ndescription: |\n  The password is rotated.\nscript: >-\n  echo token\n')
case(C,'Spring and shell defaults, ADO.NET braces, Java XML properties, Oracle thin URLs',
     'spring.datasource.password=${DB_PASS:Fallback9}\nZ_TOKEN=${Z:-Def9}\nServer=tcp:db;User ID=u;Password={Br@ce9};\n<entry key="password">PropXml9</entry>\n<property name="hibernate.connection.password" value="HibPw9"/>\n<property name="password">SprPw9</property>\njdbc:oracle:thin:scott/tiger9@//db:1521/orcl',
     'spring.datasource.password='+R(PA)+'}\nZ_TOKEN='+R(PA)+'}\nServer=tcp:db;User ID=u;Password='+R(PA)+'};\n<entry key="password">'+R(PA)+'</entry>\n<property name="hibernate.connection.password" value="'+R(PA)+'"/>\n<property name="password">'+R(PA)+'</property>\njdbc:oracle:thin:scott/'+R(PA)+'@//db:1521/orcl',{PA:7})
keep('references without defaults, other properties, Oracle URLs without a password','x_password=${DB_PASS}\ny_password=${DB_PASS:-}\na_token: ${ENV_TOKEN:${OTHER}}\n<entry key="user">bob</entry>\n<property name="url" value="jdbc:x"/>\n<property name="password" value="${db.password}"/>\njdbc:oracle:thin:@db:1521:orcl\njdbc:oracle:thin:@//db/svc')

# ---- 2026-11-23: the fourth round of known gaps (REDACTION.md section 5) ----
HK='heroku-api-key'
pos(T,'heroku-api-key HRKU-AA + 58 (the current format)','heroku: {} ok',split('HRKU-AA'+rs(58,A+'-_'),3),HK)
pos(T,'heroku-api-key HRKU- + a UUID-shaped body, in JSON','{"k": "{}"}',split('HRKU-'+'-'.join(rs(k,HEXL) for k in (8,4,4,4,12)),3),HK)
keep('heroku look-alikes: HRKU- with a short body, glued, lower case','HRKU-'+rs(35,A)+' xHRKU-'+rs(40,A)+' hrku-'+rs(40,A)+' HRKU_'+rs(40,A))
case(C,'chpasswd heredocs: <<EOF, <<\'EOF\', <<-EOF (tabs), sudo, cat <<EOF | chpasswd',
     "chpasswd <<EOF\ndeploy:HdPw1x\nroot:HdPw2y\nEOF\necho after:notpw\nsudo chpasswd <<'EOF'\nalice:HdPw3z\nEOF\nif true; then\n\tchpasswd <<-END\n\tbob:HdPw4w\n\tEND\nfi\ncat <<EOF | sudo chpasswd\ncarl:HdPw5v\nEOF\ndone:x",
     "chpasswd <<EOF\ndeploy:"+R(PA)+"\nroot:"+R(PA)+"\nEOF\necho after:notpw\nsudo chpasswd <<'EOF'\nalice:"+R(PA)+"\nEOF\nif true; then\n\tchpasswd <<-END\n\tbob:"+R(PA)+"\n\tEND\nfi\ncat <<EOF | sudo chpasswd\ncarl:"+R(PA)+"\nEOF\ndone:x",{PA:5})
case(C,'heredocs of passwd --stdin and sudo -S: the first line',
     "passwd --stdin bob <<EOF\nPwdStd9\nEOF\nsudo -S apt-get update <<EOF\nSud0Pw\nls:x\nEOF",
     "passwd --stdin bob <<EOF\n"+R(PA)+"\nEOF\nsudo -S apt-get update <<EOF\n"+R(PA)+"\nls:x\nEOF",{PA:2})
keep('heredocs of other commands, references, C++ and shifts','cat <<EOF > users.txt\ncarl:keep1\nEOF\nchpasswd <<EOF\nroot:$ROOT_PW\nno colon here\nEOF\nstd::cout << "a:b" << x;\nint y = 1 << 3;\ncat << EOF\nk:v\nEOF\nsudo tee /etc/x <<EOF\nk:v\nEOF')
jcase('chpasswd heredoc in a command member',
      '{"tool_input":{"command":"sudo chpasswd <<\'EOF\'\\nu1:JsHd1\\nu2:JsHd2\\nEOF"}}',
      '{"tool_input":{"command":"sudo chpasswd <<\'EOF\'\\nu1:'+R(PA)+'\\nu2:'+R(PA)+'\\nEOF"}}',{PA:2})
rcase('chpasswd heredoc in raw input (line breaks written as \\n, a quoted delimiter)',
      '{"tool_input":{"command":"chpasswd <<\\"EOF\\"\\nu1:RwHd1\\nEOF\\necho x:y"}',
      '{"tool_input":{"command":"chpasswd <<\\"EOF\\"\\nu1:'+R(PA)+'\\nEOF\\necho x:y"}',{PA:1})
jcase('SQL passwords in a .sql file: Write content, Edit new_string, Read output',
      '[{"tool_input":{"file_path":"/app/db/001_users.sql","content":"CREATE USER app WITH PASSWORD \'SqlW1\';\\nALTER USER \'r\'@\'%\' IDENTIFIED BY \'SqlW2\';\\n"}},{"tool_input":{"file_path":"m.SQL","old_string":"x","new_string":"CREATE ROLE ro LOGIN PASSWORD \'SqlE3\';"}},{"tool_response":{"file":{"filePath":"/app/init.sql","content":"     1\\tGRANT ALL ON db.* TO u IDENTIFIED BY \'SqlR4\';"}}}]',
      '[{"tool_input":{"file_path":"/app/db/001_users.sql","content":"CREATE USER app WITH PASSWORD \''+R(PA)+'\';\\nALTER USER \'r\'@\'%\' IDENTIFIED BY \''+R(PA)+'\';\\n"}},{"tool_input":{"file_path":"m.SQL","old_string":"x","new_string":"CREATE ROLE ro LOGIN PASSWORD \''+R(PA)+'\';"}},{"tool_response":{"file":{"filePath":"/app/init.sql","content":"     1\\tGRANT ALL ON db.* TO u IDENTIFIED BY \''+R(PA)+'\';"}}}]',{PA:4})
jcase('setx in a .bat file and cat of a .cmd file',
      '[{"tool_input":{"file_path":"C:\\\\s\\\\setup.BAT","content":"@echo off\\r\\nsetx API_TOKEN BatTok9\\r\\nsetx PATH \\"%PATH%;C:\\\\x\\"\\r\\n"}},{"tool_input":{"command":"type env.cmd"},"tool_response":{"stdout":"setx DB_PASSWORD CmdPw8 /M"}}]',
      '[{"tool_input":{"file_path":"C:\\\\s\\\\setup.BAT","content":"@echo off\\r\\nsetx API_TOKEN '+R(PA)+'\\r\\nsetx PATH \\"%PATH%;C:\\\\x\\"\\r\\n"}},{"tool_input":{"command":"type env.cmd"},"tool_response":{"stdout":"setx DB_PASSWORD '+R(PA)+' /M"}}]',{PA:2})
jcase('the command forms in content of other files, or a .sql named in prose only, stay',
      '[{"tool_input":{"file_path":"notes.md","content":"CREATE USER app WITH PASSWORD \'x9\'; setx API_TOKEN y9"}},{"tool_input":{"description":"edit init.sql","content":"IDENTIFIED BY \'z9\'"}},{"tool_input":{"file_path":"a.sqlite","content":"PASSWORD \'w9\'"}}]')
rcase('SQL password in raw input that names a .sql file',
      '{"tool_input":{"file_path":"db/seed.sql","content":"ALTER ROLE app PASSWORD \'RwSq1\';\\nCREATE USER b IDENTIFIED BY \'RwSq2\';"}',
      '{"tool_input":{"file_path":"db/seed.sql","content":"ALTER ROLE app PASSWORD \''+R(PA)+'\';\\nCREATE USER b IDENTIFIED BY \''+R(PA)+'\';"}',{PA:2})
case(C,'PHP define() in text that names no PHP file: grep -h output, a heredoc into a file without .php',
     "define('DB_PASSWORD', 'wpS3cret');\ncat > cfg.inc <<'EOF'\ndefine( \"AUTH_KEY\", \"k3y!x\" );\nEOF\n\\ndefine('API_TOKEN','tokEsc9')",
     "define('DB_PASSWORD', '"+R(PA)+"');\ncat > cfg.inc <<'EOF'\ndefine( \"AUTH_KEY\", \""+R(PA)+"\" );\nEOF\n\\ndefine('API_TOKEN','"+R(PA)+"')",{PA:3})
keep('define look-alikes without php: other names, expressions, my_define, undefine, defined()',"define('WP_DEBUG', true); define('DB_PASSWORD', getenv('X')); my_define('DB_PASSWORD', 'x1'); undefine('API_KEY', 'y2'); defined('DB_PASSWORD') default def")
pos(T,'password-hash Django pbkdf2_sha256 without a leading $','{"password": "x"} -> hash {}\n','pbkdf2_sha256$870000$'+rs(22,A)+'$'+split(rs(43,A+'+/'),3)+'=',PH)
pos(T,'password-hash Django pbkdf2_sha1 in a fixture','"fields": {"pw": "{}"}','pbkdf2_sha1$10000$'+rs(12,A)+'$'+split(rs(27,A+'+/'),3)+'=',PH)
keep('Django hash look-alikes: an algorithm name alone, a short hash, glued, no iterations','PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"] pbkdf2_sha256 pbkdf2_sha256$870000$salt$short xpbkdf2_sha256$1$s$'+rs(43,A)+' pbkdf2_sha256$$s$'+rs(43,A)+' pbkdf2_sha512$1$s$'+rs(43,A))
case(C,'yarn config set npmAuthToken, a registry\'s npmAuthToken, npmAuthIdent',
     "yarn config set npmAuthToken NpmYarn9tok\nyarn config set 'npmRegistries[\"//npm.acme.io\"].npmAuthToken' Reg9tok -H\nyarn config set npmAuthIdent \"bob:Ident9pw\"\nyarn config set _authToken Y1tok9",
     "yarn config set npmAuthToken "+R(PA)+"\nyarn config set 'npmRegistries[\"//npm.acme.io\"].npmAuthToken' "+R(PA)+" -H\nyarn config set npmAuthIdent \""+R(PA)+"\"\nyarn config set _authToken "+R(PA),{PA:4})
keep('yarn config of other keys, reads, references','yarn config set npmRegistryServer https://r.io\nyarn config get npmAuthToken\nyarn config set npmAuthToken "${NPM_TOKEN}"\nyarn add token-util\nyarn config unset npmAuthToken')
# (appended last: the random draws of the vectors above stay as they were)
pos(T,'password-hash Django: its padding ends it, whatever follows','hash {}next=1','pbkdf2_sha256$870000$'+rs(22,A)+'$'+split(rs(43,A+'+/'),3)+'=',PH)

# ---- Azure SAS signatures: a query parameter named exactly sig ----
case(C,'password-assignment azure sas sig in a blob url',
     'az storage blob download --blob-url "https://acct.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&spr=https&sig=7x0lZ%2FK3qPw@@Ne9Yt1uVb5mQ0dRsa%2BcXh4Lj8fGk2%3D"',
     'az storage blob download --blob-url "https://acct.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&spr=https&sig=[REDACTED:password-assignment]"',{PA:1})
case(C,'password-assignment azure sas sig first in the query, then more parameters',
     "azcopy copy ./f 'https://a.blob.core.windows.net/c?sig=Qm9vT2x@@lYW5zU2lnbmF0dXJl%3D&sv=2022-11-02&sp=rw'",
     "azcopy copy ./f 'https://a.blob.core.windows.net/c?sig=[REDACTED:password-assignment]&sv=2022-11-02&sp=rw'",{PA:1})
case(C,'password-assignment azure sas sig in a SharedAccessSignature connection string',
     'BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01&spr=https&sig=kR4n@@dOmS1gNaTuRe%2Bx9%3D\n',
     'BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01&spr=https&sig=[REDACTED:password-assignment]\n',{PA:1})
case(C,'password-assignment azure sas sig in XML (&amp;)',
     '<add key="Blob" url="https://a.blob.core.windows.net/c?sv=2022-11-02&amp;sp=r&amp;sig=Zm9v@@YmFyU2lnMTIz%3D" />',
     '<add key="Blob" url="https://a.blob.core.windows.net/c?sv=2022-11-02&amp;sp=r&amp;sig=[REDACTED:password-assignment]" />',{PA:1})
keep("sig= that is no URL query parameter: a config member, a word ending in sig, npm's signature metadata",'sig=on\nconfig_sig=abc123\norig=x&config=y&xsig=Zm9vYmFy123\n"signatures": [{"keyid": "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA", "sig": "MEUCIQDq7Yh3Q2"}]')

# ---- sk- keys without upper case: OpenRouter (sk-or-v1- + 64 hex), DeepSeek (sk- + 32 hex) ----
HEX='0123456789abcdef'
pos(T,'openai-api-key OpenRouter sk-or-v1- (64 hex)','export OPENROUTER_API_KEY_FILE=x; curl -H "Authorization: Bearer {}" https://openrouter.ai/api/v1/chat',split('sk-or-v1-'+rs(64,HEX),4),'openai-api-key')
pos(T,'openai-api-key DeepSeek sk- + 32 hex','client = OpenAI(api_base="https://api.deepseek.com", key={})',split('sk-'+rs(32,HEX),3),'openai-api-key')
keep('sk- lookalikes: 31 or 33 hex, a longer word, upper-case hex, sk-or-v1- too short','sk-'+rs(31,HEX)+' sk-'+rs(33,HEX)+' task-'+rs(32,HEX)+' sk-'+rs(32,'0123456789ABCDEF')+' sk-or-v1-'+rs(63,HEX))

# ---- ODBC / ADO connection strings with upper-case PWD= (the shell's PWD=/path stays) ----
case(C,'password-assignment ODBC connection string with upper-case PWD= after ;',
     'Driver={ODBC Driver 18 for SQL Server};Server=db;UID=sa;PWD=Pw9s@@ecret;Encrypt=yes\n',
     'Driver={ODBC Driver 18 for SQL Server};Server=db;UID=sa;PWD='+R(PA)+';Encrypt=yes\n',{PA:1})
case(C,'password-assignment PWD= as a line of an odbc.ini section',
     '[prod]\nDriver=ODBC Driver 18 for SQL Server\nServer=db\nUID=sa\nPWD=Pw9s@@ecret\n',
     '[prod]\nDriver=ODBC Driver 18 for SQL Server\nServer=db\nUID=sa\nPWD='+R(PA)+'\n',{PA:1})
case(C,'password-assignment PWD= after ; even when the value looks like a path',
     'DSN=prod;UID=sa;PWD=/x9Pw@@;',
     'DSN=prod;UID=sa;PWD='+R(PA)+';',{PA:1})
jcase('password-assignment PWD= in a connection string member',
      '{"ConnectionStrings":{"Default":"Driver={ODBC Driver 17 for SQL Server};Server=tcp:db,1433;UID=app;PWD=Js9P@@wd;"}}',
      '{"ConnectionStrings":{"Default":"Driver={ODBC Driver 17 for SQL Server};Server=tcp:db,1433;UID=app;PWD='+R(PA)+';"}}',{PA:1})
rcase('password-assignment PWD= in raw input',
      '{"tool_response":{"stdout":"[dsn]\\nUID=sa\\nPWD=Rw9P@@wd\\n","x":1',
      '{"tool_response":{"stdout":"[dsn]\\nUID=sa\\nPWD='+R(PA)+'\\n","x":1',{PA:1})
keep('the shell\'s PWD and OLDPWD are directories: env output, declare -x, ~, Windows paths, references',
     'PWD=/home/u\ndeclare -x PWD="/srv"\ndeclare -x OLDPWD="/tmp"\nOLDPWD=/tmp\necho $PWD\nexport PWD=~/src\nPWD=C:\\Users\\u\nPWD=D:/work\nPWD=$(pwd)\nPWD=$HOME\nPWD=\'/opt/x\'\nPWD=..\nPWD=./build\ncd "$PWD"; OLDPWD=x9y')
jcase('the shell\'s PWD in an env member and in env output stays',
      '{"env":{"PWD":"/home/u","OLDPWD":"/tmp"},"stdout":"PWD=/home/u\\nSHLVL=1\\n"}')

# ---- Go MySQL driver DSNs without a scheme: user:password@tcp(host)/db, @unix(socket)/db ----
UC='url-credentials'
case(C,'url-credentials Go MySQL DSN user:password@tcp(host:port)/db',
     'dsn := "root:Pw9s@@ecret@tcp(127.0.0.1:3306)/app?parseTime=true"\ndb, err := sql.Open("mysql", dsn)',
     'dsn := "root:'+R(UC)+'@tcp(127.0.0.1:3306)/app?parseTime=true"\ndb, err := sql.Open("mysql", dsn)',{UC:1})
case(C,'url-credentials Go MySQL DSN over a unix socket, and in sql.Open',
     'user:pw@unix(/tmp/mysql.sock)/db\nMYSQL_DSN=svc:Un1x@@Pw@unix(/var/run/mysqld/mysqld.sock)/prod\nsql.Open("mysql", "u:p@tcp(h)/d")',
     'user:'+R(UC)+'@unix(/tmp/mysql.sock)/db\nMYSQL_DSN=svc:'+R(UC)+'@unix(/var/run/mysqld/mysqld.sock)/prod\nsql.Open("mysql", "u:'+R(UC)+'@tcp(h)/d")',{UC:3})
case(C,'url-credentials Go MySQL DSN: a password with @ and : ends at the @ before tcp(',
     "cfg := 'app:p@ss:w0@@rd@tcp(db:3306)/x'",
     "cfg := 'app:"+R(UC)+"@tcp(db:3306)/x'",{UC:1})
jcase('url-credentials Go MySQL DSN in a member',
      '{"DSN":"app:JsD@@sn9@tcp(db:3306)/x?tls=true","port":3306}',
      '{"DSN":"app:'+R(UC)+'@tcp(db:3306)/x?tls=true","port":3306}',{UC:1})
rcase('url-credentials Go MySQL DSN in raw input',
      '{"c":"dsn := \\"root:RwD@@sn9@tcp(h:3306)/d\\"","n":1',
      '{"c":"dsn := \\"root:'+R(UC)+'@tcp(h:3306)/d\\"","n":1',{UC:1})
keep('Go DSN look-alikes: no password, placeholders, an e-mail, git remotes, a host named tcp-',
     'db := "root@tcp(127.0.0.1:3306)/app"\nsql.Open("mysql", "root:@tcp(h)/d")\nfmt.Sprintf("%s:%s@tcp(%s:%d)/%s", u, p, h, port, db)\n"app:${DB_PASS}@tcp(db)/x" "u:{password}@unix(/s)/d"\nwrite to a:b@example.com for access\ngit@github.com:org/repo.git\nssh user@tcp-host:22 and user@unix-box\nat 12:30@tcpdump( ran\nroot@unix(/tmp/mysql.sock)/db\nroot:[REDACTED:url-credentials]@tcp(h)/d')

for f, cases in out.items():
    with open(f + '.jsonl', 'w') as fh:
        for c in cases:
            fh.write(json.dumps(c, ensure_ascii=False) + '\n')
    print(f, len(cases))
