/* date.c - front matter dates (see date.h). Called by the front matter loader and by
 * templates that print dates. Calendar arithmetic is done here on the proleptic
 * Gregorian calendar, never through libc, so builds do not depend on TZ or locale. */
#include "content/date.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct civil {
  int year, mon, day, hour, min, sec;
  int tz; /* minutes east of UTC */
} civil;

static const char *const month_names[12] = {"january", "february", "march",     "april",
                                            "may",     "june",     "july",      "august",
                                            "september", "october", "november", "december"};
static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const weekday_names[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                             "thursday", "friday", "saturday"};

/* ---- calendar ------------------------------------------------------------------------- */

static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01. Counting years from March makes February the last month of
 * the year, so leap days never shift a month's first day; 400 years are 146097 days. */
static int64_t days_from_civil(int y, int m, int d) {
  int64_t yy = (int64_t)y - (m <= 2);
  int64_t era = floor_div(yy, 400);
  int64_t year_of_era = yy - era * 400;                   /* 0..399 */
  int64_t month_from_march = (m + 9) % 12;                /* March = 0 */
  int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468; /* 719468: days from 0000-03-01 to 1970 */
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, civil *c) {
  z += 719468;
  int64_t era = floor_div(z, 146097);
  int64_t day_of_era = z - era * 146097; /* 0..146096 */
  int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int64_t month_from_march = (5 * day_of_year + 2) / 153;
  c->day = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  c->mon = (int)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  c->year = (int)(year_of_era + era * 400 + (c->mon <= 2));
}

/* ---- scanning ------------------------------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static char to_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static const char *skip_spaces(const char *p) {
  while (is_space(*p)) p++;
  return p;
}

/* Read min..max digits at *pp, not followed by another digit. Returns the value or -1. */
static int read_num(const char **pp, int min, int max) {
  const char *p = *pp;
  int v = 0, k = 0;
  while (k < max && is_digit(p[k])) v = v * 10 + (p[k++] - '0');
  if (k < min || is_digit(p[k])) return -1;
  *pp = p + k;
  return v;
}

/* Read a word of letters into w (lowercased); returns its length, 0 if none or too long. */
static size_t read_word(const char **pp, char *w, size_t cap) {
  const char *p = *pp;
  size_t n = 0;
  while (is_alpha(p[n])) {
    if (n + 1 >= cap) return 0;
    w[n] = to_lower(p[n]);
    n++;
  }
  w[n] = '\0';
  *pp = p + n;
  return n;
}

/* Index of `w` among names (full, or its first three letters; "sept" too), or -1. */
static int match_name(const char *w, size_t n, const char *const *names, int count) {
  for (int i = 0; i < count; i++) {
    if (strcmp(w, names[i]) == 0 || (n == 3 && strncmp(w, names[i], 3) == 0)) return i;
    if (n == 4 && strcmp(w, "sept") == 0 && strcmp(names[i], "september") == 0) return i;
  }
  return -1;
}

static int read_month_name(const char **pp) {
  char w[16];
  size_t n = read_word(pp, w, sizeof w);
  int m = n ? match_name(w, n, month_names, 12) : -1;
  if (m >= 0 && n == 3 && **pp == '.') (*pp)++; /* "Dec." */
  return m < 0 ? -1 : m + 1;
}

/* HH:MM[:SS[.frac]] */
static bool read_time(const char **pp, civil *c) {
  const char *p = *pp;
  if ((c->hour = read_num(&p, 2, 2)) < 0 || *p++ != ':' || (c->min = read_num(&p, 2, 2)) < 0)
    return false;
  if (*p == ':') {
    p++;
    if ((c->sec = read_num(&p, 2, 2)) < 0) return false;
    if ((*p == '.' || *p == ',') && is_digit(p[1])) /* fractions are dropped */
      for (p++; is_digit(*p);) p++;
  }
  *pp = p;
  return true;
}

/* Exactly two digits at *pp (more may follow, as in "+0200"). Returns the value or -1. */
static int read_2digits(const char **pp) {
  const char *p = *pp;
  if (!is_digit(p[0]) || !is_digit(p[1])) return -1;
  *pp = p + 2;
  return (p[0] - '0') * 10 + (p[1] - '0');
}

/* +HH:MM, +HHMM or +HH, optionally followed by a zone abbreviation ("-0700 MST"). */
static bool read_offset(const char **pp, int *tz) {
  const char *p = *pp;
  int sign = *p++ == '-' ? -1 : 1, mm = 0;
  int hh = read_2digits(&p);
  if (hh < 0) return false;
  bool colon = *p == ':';
  if (colon) p++;
  if ((colon || is_digit(*p)) && (mm = read_num(&p, 2, 2)) < 0) return false; /* "+02:" */
  if (hh > 23 || mm > 59) return false;
  *tz = sign * (hh * 60 + mm);
  const char *q = skip_spaces(p);
  if (q > p && is_alpha(*q)) {
    char w[8];
    if (!read_word(&q, w, sizeof w)) return false;
    p = q;
  }
  *pp = p;
  return true;
}

/* A zone: numeric offset, Z, UT, UTC, GMT or an RFC 822 US zone. */
static bool read_zone(const char **pp, int *tz) {
  static const struct {
    const char *name;
    int tz;
  } zones[] = {{"z", 0},       {"ut", 0},      {"utc", 0},     {"gmt", 0},
               {"est", -300},  {"edt", -240},  {"cst", -360},  {"cdt", -300},
               {"mst", -420},  {"mdt", -360},  {"pst", -480},  {"pdt", -420}};
  if (**pp == '+' || **pp == '-') return read_offset(pp, tz);
  char w[8];
  const char *p = *pp;
  if (!read_word(&p, w, sizeof w)) return false;
  for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
    if (strcmp(w, zones[i].name) == 0) {
      *tz = zones[i].tz;
      *pp = p;
      return true;
    }
  }
  return false;
}

/* Optional "[sep]time [zone]" after the date. With `t_sep`, 'T' may separate. */
static bool read_time_tail(const char **pp, civil *c, bool t_sep) {
  const char *p = *pp;
  if (t_sep && (*p == 'T' || *p == 't')) {
    p++;
  } else {
    p = skip_spaces(p);
    if (p == *pp || !is_digit(*p)) return true; /* date only */
  }
  if (!read_time(&p, c)) return false;
  const char *q = skip_spaces(p);
  if (*q && read_zone(&q, &c->tz)) p = q;
  *pp = p;
  return true;
}

/* ---- forms ---------------------------------------------------------------------------- */

/* 2013-12-22[(T| )time[zone]] */
static bool parse_iso(const char **pp, civil *c) {
  const char *p = *pp;
  if ((c->year = read_num(&p, 4, 4)) < 0 || *p++ != '-' || (c->mon = read_num(&p, 2, 2)) < 0 ||
      *p++ != '-' || (c->day = read_num(&p, 2, 2)) < 0)
    return false;
  *pp = p;
  return read_time_tail(pp, c, true);
}

/* [Sun, ]22 Dec 2013 | December 22, 2013 | Dec 22, 2013, then an optional time. */
static bool parse_textual(const char **pp, civil *c) {
  const char *p = *pp, *word = p;
  char w[16];
  size_t n = read_word(&p, w, sizeof w);
  if (n && match_name(w, n, weekday_names, 7) >= 0) { /* weekday: skip it */
    if (*p == ',') p++;
    word = p = skip_spaces(p);
  } else {
    p = word;
  }
  if (is_digit(*p)) { /* 22 Dec 2013 */
    if ((c->day = read_num(&p, 1, 2)) < 0 || !is_space(*p)) return false;
    p = skip_spaces(p);
    if ((c->mon = read_month_name(&p)) < 0 || !is_space(*p)) return false;
  } else { /* Dec 22, 2013 */
    if ((c->mon = read_month_name(&p)) < 0 || !is_space(*p)) return false;
    p = skip_spaces(p);
    if ((c->day = read_num(&p, 1, 2)) < 0) return false;
    if (*p == ',') p++;
    else if (!is_space(*p)) return false;
  }
  p = skip_spaces(p);
  if ((c->year = read_num(&p, 4, 4)) < 0) return false;
  *pp = p;
  return read_time_tail(pp, c, false);
}

static bool civil_valid(const civil *c) {
  return c->mon >= 1 && c->mon <= 12 && c->day >= 1 && c->day <= days_in_month(c->year, c->mon) &&
         c->hour <= 23 && c->min <= 59 && c->sec <= 59;
}

int kb_date_parse(const char *s, int64_t *t, int *tz_min) {
  if (!s) return -1;
  const char *p = skip_spaces(s);
  civil c = {0};
  bool iso = is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) && p[4] == '-';
  if (!(iso ? parse_iso(&p, &c) : parse_textual(&p, &c))) return -1;
  if (*skip_spaces(p) != '\0' || !civil_valid(&c)) return -1;
  int64_t days = days_from_civil(c.year, c.mon, c.day);
  *t = days * 86400 + c.hour * 3600 + c.min * 60 + c.sec - (int64_t)c.tz * 60;
  *tz_min = c.tz;
  return 0;
}

/* ---- formatting ----------------------------------------------------------------------- */

/* Wall-clock fields of `t` in the zone `tz_min`. */
static civil civil_from_time(int64_t t, int tz_min) {
  civil c;
  int64_t local = t + (int64_t)tz_min * 60;
  int64_t days = floor_div(local, 86400), secs = local - days * 86400;
  civil_from_days(days, &c);
  c.hour = (int)(secs / 3600);
  c.min = (int)(secs / 60 % 60);
  c.sec = (int)(secs % 60);
  c.tz = tz_min;
  return c;
}

void kb_date_format_rfc3339(int64_t t, int tz_min, char *buf, size_t size) {
  civil c = civil_from_time(t, tz_min);
  char zone[16] = "Z";
  if (tz_min != 0) {
    int a = tz_min < 0 ? -tz_min : tz_min;
    snprintf(zone, sizeof zone, "%c%02d:%02d", tz_min < 0 ? '-' : '+', a / 60 % 100, a % 60);
  }
  snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%s", c.year, c.mon, c.day, c.hour, c.min,
           c.sec, zone);
}

void kb_date_format_human(int64_t t, int tz_min, char *buf, size_t size) {
  civil c = civil_from_time(t, tz_min);
  snprintf(buf, size, "%d %s %04d", c.day, month_abbr[c.mon - 1], c.year);
}

void kb_date_format_ymd(int64_t t, int tz_min, char *buf, size_t size) {
  civil c = civil_from_time(t, tz_min);
  snprintf(buf, size, "%04d-%02d-%02d", c.year, c.mon, c.day);
}
