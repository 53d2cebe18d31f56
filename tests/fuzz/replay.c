/*
 * replay.c: runs a fuzz target over every file in a corpus directory, so the
 * normal test run replays the corpus without libFuzzer (SQLite does the same).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int files = 0;
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) { fprintf(stderr, "replay: %s: cannot open corpus\n", argv[a]); return 2; }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], de->d_name);
            FILE *f = fopen(path, "rb");
            if (!f) continue;
            struct stat st;
            if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) { fclose(f); continue; }
            size_t n = (size_t)st.st_size;
            uint8_t *buf = malloc(n ? n : 1);
            if (!buf || fread(buf, 1, n, f) != n) { fprintf(stderr, "replay: %s: read failed\n", path); return 2; }
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
            free(buf);
            files++;
        }
        closedir(d);
    }
    if (files == 0) { fprintf(stderr, "replay: empty corpus\n"); return 1; }
    printf("replayed %d corpus files\n", files);
    return 0;
}
