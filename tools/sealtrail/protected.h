/*
 * protected.h: protected mode. A copy of sealtrail installed set-user-ID to
 * a dedicated account (never root) records hook events into that account's
 * store, which the agent's user can run the hook against but can neither
 * read (the signing key) nor change (SECURITY.md, "Protected mode").
 */
#ifndef ST_PROTECTED_H
#define ST_PROTECTED_H

#include "cli.h"

/* Called by main before any command runs, with argv[cmd] the command name
 * (cmd == argc: none). An ordinary run (real and effective ids equal)
 * returns 0 and changes nothing. A set-user-ID run either returns an exit
 * code after one line on stderr (setuid or setgid to root, setgid alone,
 * a command other than `hook`, an account or store that is not safe to
 * use), or enters protected mode and returns 0: the environment emptied
 * but for the two variables the hook reads as data, umask 077, $USER the
 * real user, and cli->forced_dir the account's default store, the only
 * one this process opens (cli_store_dir). */
int protected_enter(st_cli *cli, int argc, char **argv, int cmd);

/* For `hook install --protected BINARY`: the store a protected copy records
 * into (its owner's default store) into store[n]. The copy must be a
 * regular file, set-user-ID to an account other than root. 0, or -1 with
 * why (the run-time checks of the store are protected_enter's). */
int protected_store_of(const char *binary, char *store, size_t n, char *why, size_t wn);

#endif
