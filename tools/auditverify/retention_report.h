/*
 * retention_report.h: printing the retention verdict of auditverify
 * --retention (store/verify/retention_check.h), separately from integrity.
 */
#ifndef AV_RETENTION_REPORT_H
#define AV_RETENTION_REPORT_H

#include <stdio.h>

#include "retention_check.h"

/* Human form. integrity: 0 if every bundle verified (else the retention
 * verdict was not evaluated and r may be NULL). */
void retention_human(FILE *f, int integrity, const st_rc_report *r);
/* The "retention" member of the JSON report: an object, or null. */
void retention_json(FILE *f, int integrity, const st_rc_report *r);

#endif
