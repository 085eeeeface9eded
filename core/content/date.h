/* date.h - dates as Jekyll and Hugo accept them in front matter, and their formatting.
 *
 * Deterministic: no locale, no TZ, no mktime/timegm/strptime. A date keeps the UTC
 * offset it was written with, so pages show the author's wall-clock date while feeds
 * and sorting use the absolute time. Used by the front matter loader and templates. */
#ifndef KB_DATE_H
#define KB_DATE_H

#include <stddef.h>
#include <stdint.h>

/* Parse `s` (leading and trailing whitespace allowed). Returns 0 and sets *t (Unix
 * seconds, UTC) and *tz_min (the offset written, minutes east of UTC; 0 when none is
 * given: such dates are taken as UTC), or -1 if the text is not a valid date.
 * Accepted forms:
 *   2013-12-22                       2013-12-22T12:09:10[.frac][Z|+02:00|+0200|+02]
 *   2013-12-22 12:09[:10[.frac]] [+0200|+02:00|Z|UTC|GMT] [MST]   (Jekyll, Hugo)
 *   [Sun, ]22 Dec 2013[ 12:09[:10] [zone]]                         (RFC 1123/2822)
 *   December 22, 2013 / Dec 22, 2013[ 12:09[:10] [zone]]
 * A zone is Z, UT, UTC, GMT, the US zones of RFC 822 (EST EDT CST CDT MST MDT PST PDT)
 * or a numeric offset, which may be followed by any abbreviation (ignored). Weekday and
 * month names may be abbreviated or full, in any case; the weekday is not checked
 * against the date. Fractions of seconds are dropped. */
int kb_date_parse(const char *s, int64_t *t, int *tz_min);

/* "2013-12-22T12:09:10+02:00" (in the original offset; "Z" when it is 0). size >= 32. */
void kb_date_format_rfc3339(int64_t t, int tz_min, char *buf, size_t size);
/* "22 Dec 2013", "5 Jan 2014" (in the original offset). size >= 32. */
void kb_date_format_human(int64_t t, int tz_min, char *buf, size_t size);
/* "2013-12-22" (in the original offset). size >= 32. */
void kb_date_format_ymd(int64_t t, int tz_min, char *buf, size_t size);

#endif
