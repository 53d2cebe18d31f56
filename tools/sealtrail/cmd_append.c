/*
 * cmd_append.c: `sealtrail append [FILE]` appends one Claude Code hook event
 * (JSON) from FILE or stdin and prints its index. Unlike the hook, append
 * reports every failure and exits non-zero.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"

int cmd_append(st_cli *cli, int argc, char **argv)
{
    cli_take_dir(cli, &argc, argv);
    if (cli_wants_help(argc, argv)) {
        puts("usage: sealtrail [--dir DIR] append [FILE]\n"
             "\n"
             "Appends one event, Claude Code hook JSON as the client sends it on stdin, read\n"
             "from FILE or standard input (\"-\"). Secrets are redacted before anything is\n"
             "hashed or written. Prints the new entry's index. A Stop, StopFailure or SessionEnd\n"
             "event is sealed with its append, as by the hook.\n"
             "\n"
             "Unlike 'sealtrail hook', which records even malformed input so nothing is\n"
             "lost, append refuses input that is not one JSON object in valid UTF-8 without\n"
             "duplicate keys, names the byte offset, exits 2 and changes nothing.\n"
             "\n"
             "examples:\n"
             "  sealtrail append event.json\n"
             "  printf '%s' \"$json\" | sealtrail append");
        return EXIT_OK;
    }
    /* no options: "append -- -odd-name.json" is a file, "append --json" an unknown option */
    static const struct option none[] = { { 0, 0, 0, 0 } };
    optind = 1;
    if (cli_getopt("append", argc, argv, "", none) != -1) return EXIT_USAGE;
    if (argc - optind > 1) return cli_stray_arg("append", argv, optind + 1);   /* one FILE at most: names the other */
    const char *path = optind < argc ? argv[optind] : "-";
    char *data;
    size_t len;
    int rc = cli_read_file(path, ST_EVENT_MAX_DEFAULT, &data, &len);
    if (rc) {
        cli_err("append: %s: %s", strcmp(path, "-") ? path : "stdin",
                rc == ST_ETOOBIG ? "event is larger than 256 MiB" : st_strerror(rc));
        return cli_read_exit(rc);
    }
    /* Strict check first: bad input changes nothing. */
    st_json_doc *doc = NULL;
    st_json_opts jo = { .flags = ST_JSON_ALLOW_WS, .max_depth = 512, .max_bytes = 0 };
    st_err jerr;
    rc = st_json_parse(&doc, data, len, &jo, NULL, &jerr);
    int is_object = rc == 0 && st_json_doc_root(doc)->type == ST_JSON_OBJECT;
    st_json_doc_free(doc);
    if (rc || !is_object) {
        cli_err("append: %s: %s", strcmp(path, "-") ? path : "stdin",
                rc ? jerr.msg : "the event must be a JSON object");
        free(data);
        return EXIT_USAGE;
    }
    st_store *s;
    int code = cli_open_store(cli, 0, &s);
    if (code) { free(data); return code; }
    uint64_t index;
    rc = st_append_event(s, data, len, &index);
    free(data);
    if (rc) code = cli_fail(rc, "append", st_store_error(s));
    else printf("%llu\n", (unsigned long long)index);
    st_store_close(s);
    return code;
}
