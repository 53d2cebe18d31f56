/*
 * report.h: printing a verification report (store/verify/verifier.h) for
 * people (report_human) and for machines (report_json, one JSON object).
 */
#ifndef AV_REPORT_H
#define AV_REPORT_H

#include <stdio.h>

#include "verifier.h"

void report_human(FILE *f, const char *file, const st_verify_report *r);
void report_json(FILE *f, const char *file, const st_verify_report *r);
/* s as a JSON string literal (sanitized as the reports are). */
void report_json_string(FILE *f, const char *s);

#endif
