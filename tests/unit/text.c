/*
 * text.c: th_utf8_check against valid text in several scripts and against
 * every kind of malformed sequence (overlong forms, surrogates, code points
 * past U+10FFFF, truncation, stray continuation bytes), and th_url_normalize
 * against the forms one page can be linked by, the URLs that must be refused
 * and the query parameters that must never be stored (DESIGN.md section 5).
 */
#include "helpers.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 --------------------------------------------------------------- */

/* Checks a NUL-terminated byte string. */
static int utf8(const char *s) {
  return th_utf8_check(s, strlen(s));
}

static void test_utf8_valid(void) {
  TAP_INT(utf8(""), TH_OK, "the empty string is valid");
  TAP_INT(th_utf8_check("", 0), TH_OK, "zero bytes are valid");
  TAP_INT(utf8("plain ASCII, with punctuation!"), TH_OK, "ASCII");
  TAP_INT(utf8("Dŵr a ŷd yng Nghaerdydd"), TH_OK, "Welsh ŵ and ŷ (2 bytes)");
  TAP_INT(utf8("\xc2\x80"), TH_OK, "U+0080, the smallest 2-byte form");
  TAP_INT(utf8("\xdf\xbf"), TH_OK, "U+07FF, the largest 2-byte form");
  TAP_INT(utf8("আমি লন্ডনে থাকি"), TH_OK, "Bengali (3 bytes)");
  TAP_INT(utf8("أنا أعيش في لندن"), TH_OK, "Arabic (2 bytes)");
  TAP_INT(utf8("\xe0\xa0\x80"), TH_OK, "U+0800, the smallest 3-byte form");
  TAP_INT(utf8("\xed\x9f\xbf"), TH_OK, "U+D7FF, just below the surrogates");
  TAP_INT(utf8("\xee\x80\x80"), TH_OK, "U+E000, just above the surrogates");
  TAP_INT(utf8("\xef\xbf\xbd"), TH_OK, "U+FFFD");
  TAP_INT(utf8("\357\273\277BOM"), TH_OK, "a byte order mark is a character");
  TAP_INT(utf8("👍🏽 great 🎉"), TH_OK,
          "emoji with a skin tone (4 bytes)");
  TAP_INT(utf8("\xf0\x90\x80\x80"), TH_OK, "U+10000, the smallest 4-byte");
  TAP_INT(utf8("\xf4\x8f\xbf\xbf"), TH_OK, "U+10FFFF, the last code point");
  /* An embedded NUL is a valid code point: the length decides, not the NUL. */
  TAP_INT(th_utf8_check("a\0b", 3), TH_OK, "an embedded NUL is counted");
  TAP_INT(th_utf8_check("ŵ\0ŵ", 5), TH_OK, "NUL between 2-byte characters");
  /* Only `len` bytes are looked at: a bad byte after them does not count. */
  TAP_INT(th_utf8_check("abc\xff", 3), TH_OK, "bytes past len are ignored");
  TAP_INT(th_utf8_check("ŵ", 2), TH_OK, "exactly one character");
}

static void test_utf8_invalid(void) {
  /* Overlong forms: the same character in more bytes than needed would let
   * "/" or NUL slip past a byte-level check. */
  TAP_INT(utf8("\xc0\x80"), TH_EUTF8, "overlong NUL, C0 80");
  TAP_INT(utf8("\xc1\xbf"), TH_EUTF8, "overlong U+007F, C1 BF");
  TAP_INT(utf8("\xc0\xaf"), TH_EUTF8, "overlong '/', C0 AF");
  TAP_INT(utf8("\xe0\x80\x80"), TH_EUTF8, "overlong NUL, E0 80 80");
  TAP_INT(utf8("\xe0\x9f\xbf"), TH_EUTF8, "overlong U+07FF, E0 9F BF");
  TAP_INT(utf8("\xf0\x80\x80\x80"), TH_EUTF8, "overlong NUL, F0 80 80 80");
  TAP_INT(utf8("\xf0\x8f\xbf\xbf"), TH_EUTF8, "overlong U+FFFF in 4 bytes");
  /* UTF-16 surrogates are not characters. */
  TAP_INT(utf8("\xed\xa0\x80"), TH_EUTF8, "high surrogate U+D800");
  TAP_INT(utf8("\xed\xbf\xbf"), TH_EUTF8, "low surrogate U+DFFF");
  TAP_INT(utf8("\xed\xa0\xbd\xed\xb8\x80"), TH_EUTF8,
          "a CESU-8 surrogate pair");
  /* Past U+10FFFF, and lead bytes that can never appear. */
  TAP_INT(utf8("\xf4\x90\x80\x80"), TH_EUTF8, "U+110000, F4 90 80 80");
  TAP_INT(utf8("\xf5\x80\x80\x80"), TH_EUTF8, "F5 lead byte");
  TAP_INT(utf8("\xf7\xbf\xbf\xbf"), TH_EUTF8, "F7 lead byte");
  TAP_INT(utf8("\xf8\x88\x80\x80\x80"), TH_EUTF8, "5-byte form, F8");
  TAP_INT(utf8("\xfc\x84\x80\x80\x80\x80"), TH_EUTF8, "6-byte form, FC");
  TAP_INT(utf8("\xfe"), TH_EUTF8, "FE");
  TAP_INT(utf8("\xff"), TH_EUTF8, "FF");
  TAP_INT(utf8("ok \xff ok"), TH_EUTF8, "FF between ASCII");
  /* Truncated sequences, at the end of the buffer and before ASCII. */
  TAP_INT(utf8("\xc5"), TH_EUTF8, "2-byte lead alone at the end");
  TAP_INT(utf8("Dw\xc5"), TH_EUTF8, "ŵ cut after its first byte");
  TAP_INT(utf8("\xe0\xa6"), TH_EUTF8, "3-byte sequence cut after 2 bytes");
  TAP_INT(utf8("\xf0\x9f\x91"), TH_EUTF8, "4-byte sequence cut after 3");
  TAP_INT(utf8("\xf0\x9f"), TH_EUTF8, "4-byte sequence cut after 2");
  TAP_INT(utf8("\340\246x"), TH_EUTF8, "3-byte sequence cut by ASCII");
  TAP_INT(utf8("\xc5 "), TH_EUTF8, "2-byte lead followed by a space");
  TAP_INT(th_utf8_check("ŵ", 1), TH_EUTF8, "len cuts a character in two");
  TAP_INT(th_utf8_check("👍", 3), TH_EUTF8, "len cuts an emoji");
  /* Continuation bytes with no lead. */
  TAP_INT(utf8("\x80"), TH_EUTF8, "a lone continuation byte 80");
  TAP_INT(utf8("\xbf"), TH_EUTF8, "a lone continuation byte BF");
  TAP_INT(utf8("a\200z"), TH_EUTF8, "a continuation byte between ASCII");
  TAP_INT(utf8("\xc5\xb5\xb5"), TH_EUTF8, "one continuation byte too many");
  TAP_INT(utf8("\xe2\x82\xac\x82"), TH_EUTF8, "€ then a stray continuation");
  /* Invalid text after an embedded NUL is still found. */
  TAP_INT(th_utf8_check("a\0\xff", 3), TH_EUTF8, "bad byte after a NUL");
  TAP_INT(th_utf8_check(NULL, 0) == TH_OK, 0, "NULL is not text");
}

/* ---- URLs ---------------------------------------------------------------- */

/* Normalises `url` and checks the result (want NULL: any error is wrong,
 * pass the code in `rc` for the cases that must fail). */
static void url_ok(const char *url, const char *keep, const char *want) {
  char *out = NULL;
  int rc = th_url_normalize(url, keep, &out);
  if (rc != TH_OK)
    printf("# %s: %s\n", url, th_err_name(rc));
  TAP_STR(out, want, "normalise %s%s%s", url, keep ? " keeping " : "",
          keep ? keep : "");
  th_free(out);
}

static void url_bad(const char *url, int want_rc, const char *name) {
  char *out = (char *)"unchanged";
  int rc = th_url_normalize(url, NULL, &out);
  TAP_INT(rc, want_rc, "%s", name);
  if (rc != TH_OK)
    TAP_OK(out == NULL, "%s: *out is NULL on failure", name);
  else
    th_free(out);
}

static void test_url_basics(void) {
  url_ok("https://www.camden.gov.uk/parking", NULL,
         "https://www.camden.gov.uk/parking");
  /* Scheme and host fold to lower case; the path keeps its case, since
   * servers may treat /Parking and /parking as different pages. */
  url_ok("HTTPS://WWW.Camden.GOV.uk/Parking/Permits", NULL,
         "https://www.camden.gov.uk/Parking/Permits");
  url_ok("HtTp://Example.ORG/", NULL, "http://example.org/");
  /* An empty path is "/", with or without a query after it. */
  url_ok("https://example.org", NULL, "https://example.org/");
  url_ok("https://example.org?id=3", "id", "https://example.org/?id=3");
  url_ok("https://example.org#top", NULL, "https://example.org/");
  /* Default ports are dropped, others kept; the default of the other
   * scheme is not a default. */
  url_ok("http://example.org:80/a", NULL, "http://example.org/a");
  url_ok("https://example.org:443/a", NULL, "https://example.org/a");
  url_ok("http://example.org:443/a", NULL, "http://example.org:443/a");
  url_ok("https://example.org:80/a", NULL, "https://example.org:80/a");
  url_ok("https://example.org:8443/a", NULL, "https://example.org:8443/a");
  url_ok("https://example.org:1/", NULL, "https://example.org:1/");
  url_ok("https://example.org:65535/", NULL, "https://example.org:65535/");
  /* Leading zeros name the same port. */
  url_ok("https://example.org:00443/", NULL, "https://example.org/");
  url_ok("https://example.org:08080/", NULL, "https://example.org:8080/");
  /* RFC 3986 3.2.3: an empty port is the default port. */
  url_ok("https://example.org:/a", NULL, "https://example.org/a");
  /* User info never reaches storage: it is often a password. */
  url_ok("https://user:pass@example.org/", NULL, "https://example.org/");
  url_ok("https://a.b@c.com:secret@example.org/x", NULL,
         "https://example.org/x");
  url_ok("https://@example.org/", NULL, "https://example.org/");
  url_ok("https://user@EXAMPLE.org:8080/", NULL, "https://example.org:8080/");
  /* Fragments are dropped. */
  url_ok("https://example.org/a#section-2", NULL, "https://example.org/a");
  url_ok("https://example.org/a?x=1#frag?y=2", NULL, "https://example.org/a");
  url_ok("https://example.org/a#", NULL, "https://example.org/a");
  /* A trailing dot names the same host (the DNS root). */
  url_ok("https://www.camden.gov.uk./bins", NULL,
         "https://www.camden.gov.uk/bins");
  url_ok("https://www.camden.gov.uk.:8080/", NULL,
         "https://www.camden.gov.uk:8080/");
  /* Two trailing dots are an empty label, not the root (found by fuzzing:
   * it normalised to "uk." and then to "uk"). */
  url_bad("https://www.camden.gov.uk../bins", TH_EINVAL, "two trailing dots");
  url_bad("https://www.camden.gov.uk..:8080/", TH_EINVAL,
          "two trailing dots and a port");
  /* IPv4 and IPv6 literals; hex digits fold to lower case. */
  url_ok("http://192.0.2.1:8080/x", NULL, "http://192.0.2.1:8080/x");
  url_ok("http://[::1]/", NULL, "http://[::1]/");
  url_ok("https://[2001:DB8::A]:443/p", NULL, "https://[2001:db8::a]/p");
  url_ok("https://[2001:db8::1]:8443", NULL, "https://[2001:db8::1]:8443/");
  url_ok("http://[::ffff:192.0.2.1]/", NULL, "http://[::ffff:192.0.2.1]/");
  /* Spaces and tabs around the URL (pasted text) are trimmed. */
  url_ok("  https://example.org/a\t", NULL, "https://example.org/a");
}

static void test_url_query(void) {
  /* DESIGN.md section 5: a query may carry an e-mail address or a case
   * number, so it is dropped unless the site names a parameter. */
  url_ok("https://example.org/form?email=a@b.com&id=3", NULL,
         "https://example.org/form");
  url_ok("https://example.org/form?email=a@b.com&id=3", "id",
         "https://example.org/form?id=3");
  url_ok("https://example.org/?email=a@b.com&id=3", "id page",
         "https://example.org/?id=3");
  /* Kept parameters are sorted, so the order of a link does not matter. */
  url_ok("https://example.org/?page=2&id=3", "id page",
         "https://example.org/?id=3&page=2");
  url_ok("https://example.org/?id=3&page=2", "page id",
         "https://example.org/?id=3&page=2");
  url_ok("https://example.org/?page=2&x=1&id=3#f", "id page",
         "https://example.org/?id=3&page=2");
  /* Names are matched whole and by case: "ident" is not "id". */
  url_ok("https://example.org/?ident=1&ID=2&id=3", "id",
         "https://example.org/?id=3");
  url_ok("https://example.org/?a=1", "", "https://example.org/");
  /* Repeated kept parameters are ordered by their encoded form, so that
   * normalising again changes nothing (found by fuzzing: "a=}" sorted
   * after "a=1", its encoding "a=%7D" before it). */
  url_ok("https://example.org/p?a=}&a=1", "a",
         "https://example.org/p?a=%7D&a=1");
  url_ok("https://example.org/p?a=%7D&a=1", "a",
         "https://example.org/p?a=%7D&a=1");
  url_ok("https://example.org/?a=1", "   ", "https://example.org/");
  /* Commas separate names too (the site settings accept either). */
  url_ok("https://example.org/?b=2&a=1", "a,b", "https://example.org/?a=1&b=2");
  /* A kept parameter without a value, repeated, or separated by ';'. */
  url_ok("https://example.org/?id", "id", "https://example.org/?id");
  url_ok("https://example.org/?id=2&id=1", "id",
         "https://example.org/?id=1&id=2");
  url_ok("https://example.org/?x=1;id=3", "id", "https://example.org/?id=3");
  url_ok("https://example.org/?&&id=3&&", "id", "https://example.org/?id=3");
  url_ok("https://example.org/?", NULL, "https://example.org/");
  url_ok("https://example.org/p?", "id", "https://example.org/p");
  /* Kept values are percent-normalised like the path. */
  url_ok("https://example.org/?q=caf%c3%a9%7e", "q",
         "https://example.org/?q=caf%C3%A9~");
  url_ok("https://example.org/?q=café", "q",
         "https://example.org/?q=caf%C3%A9");
  url_ok("https://example.org/?q=a%26b", "q", "https://example.org/?q=a%26b");
}

static void test_url_path(void) {
  /* RFC 3986 6.2.2.2: escapes of unreserved characters are decoded, the
   * others are kept with upper-case hex. */
  url_ok("https://example.org/%7euser", NULL, "https://example.org/~user");
  url_ok("https://example.org/%41%62%2D%5f%2e", NULL,
         "https://example.org/Ab-_.");
  url_ok("https://example.org/a%2fb", NULL, "https://example.org/a%2Fb");
  url_ok("https://example.org/a%2Fb", NULL, "https://example.org/a%2Fb");
  url_ok("https://example.org/%3f%23%25", NULL,
         "https://example.org/%3F%23%25");
  url_ok("https://example.org/caf%c3%a9", NULL,
         "https://example.org/caf%C3%A9");
  /* Raw non-ASCII bytes are encoded, so both spellings are one page. */
  url_ok("https://example.org/café", NULL, "https://example.org/caf%C3%A9");
  url_ok("https://example.org/ŵ/আ", NULL,
         "https://example.org/%C5%B5/%E0%A6%86");
  /* A '%' that is not an escape is a literal percent sign. */
  url_ok("https://example.org/100%", NULL, "https://example.org/100%25");
  url_ok("https://example.org/100%2", NULL, "https://example.org/100%252");
  url_ok("https://example.org/a%zzb", NULL, "https://example.org/a%25zzb");
  url_ok("https://example.org/%7e", NULL, "https://example.org/~");
  /* Characters that may not stand literally are encoded. */
  url_ok("https://example.org/a\"b<c>d{e}", NULL,
         "https://example.org/a%22b%3Cc%3Ed%7Be%7D");
  url_ok("https://example.org/a\\b", NULL, "https://example.org/a%5Cb");
  url_ok("https://example.org/a;b=c,d:e@f!$&'()*+", NULL,
         "https://example.org/a;b=c,d:e@f!$&'()*+");
  /* Dot segments (RFC 3986 5.2.4). */
  url_ok("https://example.org/a/./b/../c", NULL, "https://example.org/a/c");
  url_ok("https://example.org/../../x", NULL, "https://example.org/x");
  url_ok("https://example.org/a/b/../../../c", NULL, "https://example.org/c");
  url_ok("https://example.org/a/..", NULL, "https://example.org/");
  url_ok("https://example.org/a/b/..", NULL, "https://example.org/a/");
  url_ok("https://example.org/a/.", NULL, "https://example.org/a/");
  url_ok("https://example.org/.", NULL, "https://example.org/");
  url_ok("https://example.org/..", NULL, "https://example.org/");
  url_ok("https://example.org/./a?id=1", "id", "https://example.org/a?id=1");
  /* Segments that merely start with dots are names. */
  url_ok("https://example.org/.well-known/..x/...", NULL,
         "https://example.org/.well-known/..x/...");
  /* Escaped dots are decoded first (6.2.2.2), then removed (6.2.2.3). */
  url_ok("https://example.org/a/%2e%2E/b", NULL, "https://example.org/b");
  /* Empty segments are kept: "//" may mean something to the server. */
  url_ok("https://example.org//a//b/", NULL, "https://example.org//a//b/");
}

static void test_url_rejected(void) {
  char *out = NULL;
  TAP_INT(th_url_normalize(NULL, NULL, &out), TH_EINVAL, "NULL url");
  TAP_INT(th_url_normalize("https://example.org/", NULL, NULL), TH_EINVAL,
          "NULL out");
  url_bad("", TH_EINVAL, "the empty string");
  url_bad("   ", TH_EINVAL, "only spaces");
  /* Only http(s) pages are pages. */
  url_bad("javascript:alert(1)", TH_EINVAL, "javascript: is refused");
  url_bad("JavaScript://example.org/%0aalert(1)", TH_EINVAL,
          "javascript:// is refused");
  url_bad("ftp://example.org/file", TH_EINVAL, "ftp: is refused");
  url_bad("data:text/html,hello", TH_EINVAL, "data: is refused");
  url_bad("file:///etc/passwd", TH_EINVAL, "file: is refused");
  url_bad("mailto:a@b.com", TH_EINVAL, "mailto: is refused");
  url_bad("httpx://example.org/", TH_EINVAL, "httpx: is refused");
  url_bad("https:example.org", TH_EINVAL, "https: without // is refused");
  url_bad("https:/example.org", TH_EINVAL, "https:/ is refused");
  /* Relative references have no page of their own. */
  url_bad("/parking", TH_EINVAL, "an absolute path is refused");
  url_bad("parking/permits", TH_EINVAL, "a relative path is refused");
  url_bad("//example.org/a", TH_EINVAL, "a scheme-relative URL is refused");
  url_bad("?id=3", TH_EINVAL, "a bare query is refused");
  url_bad("www.camden.gov.uk/parking", TH_EINVAL, "no scheme is refused");
  /* No host. */
  url_bad("https://", TH_EINVAL, "https:// alone");
  url_bad("http://", TH_EINVAL, "http:// alone");
  url_bad("https:///path", TH_EINVAL, "an empty host");
  url_bad("https://user@/", TH_EINVAL, "user info and no host");
  url_bad("https://:8080/", TH_EINVAL, "a port and no host");
  url_bad("https://?q", TH_EINVAL, "a query and no host");
  url_bad("https://#f", TH_EINVAL, "a fragment and no host");
  /* A host of dots is no host: "https://./" must not become "https:///". */
  url_bad("https://./", TH_EINVAL, "a host of one dot");
  url_bad("https://../", TH_EINVAL, "a host of two dots");
  url_bad("https://.example.org/", TH_EINVAL, "a host starting with a dot");
  url_bad("https://a..b/", TH_EINVAL, "an empty label");
  /* Characters that cannot be in a host name. */
  url_bad("https://exa mple.org/", TH_EINVAL, "a space in the host");
  url_bad("https://exa%6dple.org/", TH_EINVAL, "an escape in the host");
  url_bad("https://exa<mple.org/", TH_EINVAL, "'<' in the host");
  url_bad("https://exa]mple.org/", TH_EINVAL, "']' outside an IPv6 literal");
  url_bad("https://exa[mple.org/", TH_EINVAL, "'[' outside an IPv6 literal");
  url_bad("https://example.org[::1]/", TH_EINVAL, "a literal after a name");
  /* A backslash is a path separator to browsers, so "evil\@good" would be
   * evil.com to them and good.org to us: refuse rather than guess. */
  url_bad("https://evil.com\\@good.org/", TH_EINVAL,
          "a backslash in the authority");
  /* IPv6 literals. */
  url_bad("https://[::1/", TH_EINVAL, "an unclosed IPv6 literal");
  url_bad("https://[]/", TH_EINVAL, "an empty IPv6 literal");
  url_bad("https://[::1]x/", TH_EINVAL, "text after an IPv6 literal");
  url_bad("https://[example.org]/", TH_EINVAL, "a name in brackets");
  url_bad("https://[::1]]/", TH_EINVAL, "a second ']'");
  url_bad("https://[fe80::1%25eth0]/", TH_EINVAL, "a zone id");
  /* Ports. */
  url_bad("https://example.org:0/", TH_EINVAL, "port 0");
  url_bad("https://example.org:65536/", TH_EINVAL, "port 65536");
  url_bad("https://example.org:99999/", TH_EINVAL, "port 99999");
  url_bad("https://example.org:123456/", TH_EINVAL, "a 6-digit port");
  url_bad("https://example.org:8o/", TH_EINVAL, "a letter in the port");
  url_bad("https://example.org:-1/", TH_EINVAL, "a negative port");
  url_bad("https://example.org:+80/", TH_EINVAL, "a signed port");
  url_bad("https://example.org:80:80/", TH_EINVAL, "two ports");
  url_bad("https://example.org:http/", TH_EINVAL, "a service name");
  /* Spaces and control characters inside the URL. */
  url_bad("https://example.org/a b", TH_EINVAL, "a space in the path");
  url_bad("https://example.org/a\tb", TH_EINVAL, "a tab in the path");
  url_bad("https://example.org/a\nb", TH_EINVAL, "a newline in the path");
  url_bad("https://example.org/a\r\nSet-Cookie: x", TH_EINVAL,
          "header injection");
  url_bad("https://example.org/\x01", TH_EINVAL, "a control character");
  url_bad("https://example.org/\x7f", TH_EINVAL, "DEL");
  url_bad("https://example.org/?q=a b", TH_EINVAL, "a space in the query");
  url_bad("https://example.org/\n", TH_EINVAL, "a trailing newline");
  /* Bytes that are not UTF-8. */
  url_bad("https://example.org/\xff", TH_EINVAL, "a byte that is not UTF-8");
  url_bad("https://example.org/\xc0\xaf", TH_EINVAL, "an overlong '/'");
}

static void test_url_length(void) {
  /* 2048 bytes is the limit, checked on the URL as given and on the
   * result (escaping can triple it). */
  const char *prefix = "https://example.org/";
  size_t plen = strlen(prefix);
  char *u = malloc(4096);
  memcpy(u, prefix, plen);
  memset(u + plen, 'a', 2048 - plen);
  u[2048] = '\0';
  char *out = NULL;
  TAP_INT(th_url_normalize(u, NULL, &out), TH_OK, "2048 bytes are allowed");
  TAP_INT(out ? strlen(out) : 0, 2048, "and kept whole");
  th_free(out);
  out = NULL;
  u[2048] = 'a';
  u[2049] = '\0';
  TAP_INT(th_url_normalize(u, NULL, &out), TH_ETOOLONG, "2049 bytes are not");
  TAP_OK(out == NULL, "*out is NULL");
  /* The query alone makes it long: it is still too long, dropped or not. */
  memcpy(u, "https://example.org/?q=", 23);
  memset(u + 23, 'x', 3000);
  u[3023] = '\0';
  TAP_INT(th_url_normalize(u, NULL, &out), TH_ETOOLONG,
          "a long query is too long");
  /* 1000 bytes of 'é' (2 bytes each, 6 once escaped) grow past 2048. */
  memcpy(u, prefix, plen);
  size_t k = plen;
  for (int i = 0; i < 500; i++) {
    u[k++] = (char)0xc3;
    u[k++] = (char)0xa9;
  }
  u[k] = '\0';
  TAP_INT(th_url_normalize(u, NULL, &out), TH_ETOOLONG,
          "a URL that grows past 2048 when escaped");
  TAP_OK(out == NULL, "*out is NULL");
  /* 200 dot segments are removed, not a problem. */
  k = plen;
  for (int i = 0; i < 200; i++) {
    memcpy(u + k, "a/../", 5);
    k += 5;
  }
  memcpy(u + k, "end", 4);
  TAP_INT(th_url_normalize(u, NULL, &out), TH_OK, "many dot segments");
  TAP_STR(out, "https://example.org/end", "all of them removed");
  th_free(out);
  free(u);
}

/* Normalising twice gives the same string: stored URLs are fixed points, so
 * a page looked up by its stored URL finds itself. */
static void test_url_idempotent(void) {
  static const char *const urls[] = {
      "HTTPS://User:pw@Example.ORG:443/a/./b/../%7ec/caf%c3%a9?b=2&a=1#x",
      "http://[2001:DB8::1]:8080/%2f%2F/100%",
      "https://www.camden.gov.uk./Parking//Permits/?page=3&email=x@y.z",
      "https://example.org/a\"b/ŵ/..",
  };
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    char *once = NULL, *twice = NULL;
    th_url_normalize(urls[i], "a b page", &once);
    int rc = once ? th_url_normalize(once, "a b page", &twice) : TH_EINVAL;
    TAP_INT(rc, TH_OK, "the result of %s normalises", urls[i]);
    TAP_STR(twice, once, "to itself");
    th_free(once);
    th_free(twice);
  }
}

/* ---- visible characters -------------------------------------------------- */

/* A title with no visible character would be listed as an empty line that
 * links somewhere: refused with TH_EINVAL and a message that says why. */
static void test_invisible_titles(void) {
  static const char *const invisible[] = {
      "\342\200\213\342\200\213\342\200\213",             /* zero-width spaces */
      "\302\240\302\240\302\240",                         /* no-break spaces */
      "\342\200\256   \342\200\254",                      /* RLO, spaces, PDF */
      "\342\201\246\342\201\247\342\201\250\342\201\251", /* isolates */
      "\357\273\277\342\200\215\342\200\214\302\255",     /* BOM, ZWJ, ZWNJ, SHY */
      "\343\205\244\343\205\244\343\205\244",             /* Hangul filler */
      "\342\200\203\343\200\200\342\200\250\342\200\216", /* em, ideographic
                                                             spaces, LS, LRM */
      "\357\270\217\357\270\217\357\270\217",             /* variation selectors */
      "   ",
  };
  th_db *db = t_open("visible.db");
  t_site(db, "camden", 0, 0);
  th_who w = {.resident = "res-visible"};
  for (size_t i = 0; i < TH__ARRAY_SIZE(invisible); i++) {
    th_idea_new n = {.size = sizeof(n), .title = invisible[i]};
    TAP_INT(th__visible_count(invisible[i], strlen(invisible[i])), 0,
            "invisible title #%zu: nothing visible", i);
    TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_EINVAL,
            "invisible title #%zu refused", i);
    TAP_OK(strstr(th_errmsg(db), "title has no visible character") != NULL,
           "and the message says why: %s", th_errmsg(db));
  }
  /* Visible characters among invisible ones count, and only they do. */
  th_idea_new ok = {.size = sizeof(ok), .title = "a\342\200\213b\342\200\213c"};
  TAP_INT(th_idea_submit(db, "camden", &w, &ok, NULL), TH_RECORDED,
          "three letters between zero-width spaces");
  th_idea_new bn = {.size = sizeof(bn), .title = "\340\246\260\342\200\215\340\247\215\340\246\257"
                             "\340\246\276\340\246\254"};
  TAP_INT(th_idea_submit(db, "camden", &w, &bn, NULL), TH_RECORDED,
          "a Bengali title with a zero-width joiner");
  th_idea_new two = {.size = sizeof(two), .title = "ab\342\200\213\342\200\213\302\240"};
  TAP_INT(th_idea_submit(db, "camden", &w, &two, NULL), TH_ETOOSHORT,
          "two visible characters are too short");
  th_idea_new none = {.size = sizeof(none), .title = ""};
  TAP_INT(th_idea_submit(db, "camden", &w, &none, NULL), TH_ETOOSHORT,
          "the empty title is too short, as before");
  TAP_INT(th__visible_count("a b\tc", 5), 3, "ASCII: spaces and tabs");
  TAP_INT(th__visible_count("\331\205\333\214\342\200\214\330\256", 8), 3,
          "Persian: the ZWNJ is not counted");
  th_close(db);
}

/* ---- personal data in page URLs ------------------------------------------ */

/* Normalises `in` (keeping `keep`), scrubs it, and compares with `want`;
 * the result must be a fixed point of both. */
static void scrub(const char *in, const char *keep, const char *want) {
  char *norm = NULL, *out = NULL, *again = NULL, *out2 = NULL;
  TAP_INT(th_url_normalize(in, keep, &norm), TH_OK, "normalise %s", in);
  if (norm == NULL)
    return;
  TAP_INT(th__url_scrub(norm, &out), TH_OK, "scrub %s", norm);
  TAP_STR(out, want, "scrubbed %s", in);
  if (out && th_url_normalize(out, keep, &again) == TH_OK &&
      th__url_scrub(again, &out2) == TH_OK)
    TAP_STR(out2, out, "%s: normalising and scrubbing again change nothing",
            out);
  free(norm);
  free(out);
  free(again);
  free(out2);
}

static void test_url_scrub(void) {
  scrub("https://example.org/users/canary@example.org/profile", NULL,
        "https://example.org/users/%5Bemail%5D/profile");
  scrub("https://example.org/users/canary%40example.org/profile", NULL,
        "https://example.org/users/%5Bemail%5D/profile");
  scrub("https://example.org/users/canary%40example.org", NULL,
        "https://example.org/users/%5Bemail%5D");
  scrub("https://example.org/call/07700%20900461/", NULL,
        "https://example.org/call/%5Bphone%5D/");
  scrub("https://example.org/call/07700900461", NULL,
        "https://example.org/call/%5Bphone%5D");
  scrub("https://example.org/nhs/9434765919/letters", NULL,
        "https://example.org/nhs/%5Bnhs%20number%5D/letters");
  scrub("https://example.org/near/NW1%202DB", NULL,
        "https://example.org/near/NW1%20%5Bpostcode%5D");
  /* Kept query values are scrubbed too; their names, and what was not
   * kept, are not (what was not kept is gone). */
  scrub("https://example.org/search?q=jo@example.org&email=x@y.org", "q",
        "https://example.org/search?q=%5Bemail%5D");
  scrub("https://example.org/search?ref=07700+900461&page=2", "ref page",
        "https://example.org/search?page=2&ref=%5Bphone%5D");
  /* Long digit runs of no known layout (an account or case number) are
   * masked in paths and kept values; shorter runs, dates and references
   * broken up by punctuation are a page's name. */
  scrub("https://example.org/council-tax/account/12345678/bill", NULL,
        "https://example.org/council-tax/account/%5Bnumber%5D/bill");
  scrub("https://example.org/case?ref=AB1234567890", "ref",
        "https://example.org/case?ref=AB%5Bnumber%5D");
  /* A masked run cannot leave what it completes: the address with its
   * run gone is scrubbed again (the fuzzer's find). */
  scrub("https://example.org/users/jo%40examp.oe020794600002", NULL,
        "https://example.org/users/%5Bemail%5D%5Bnumber%5D");
  scrub("https://example.org/planning/2024-1234/1234567", NULL,
        "https://example.org/planning/2024-1234/1234567");
  scrub("https://example.org/news/2024/12/03", NULL,
        "https://example.org/news/2024/12/03");
  /* Ordinary paths are not touched, byte for byte. */
  scrub("https://example.org/2024/budget/section-3", NULL,
        "https://example.org/2024/budget/section-3");
  scrub("https://example.org/bins/collection-days?ward=12", "ward",
        "https://example.org/bins/collection-days?ward=12");
  scrub("https://example.org/%E0%A6%AC%E0%A6%BE%E0%A6%82%E0%A6%B2%E0%A6%BE/1",
        NULL,
        "https://example.org/%E0%A6%AC%E0%A6%BE%E0%A6%82%E0%A6%B2%E0%A6%BE/1");
  /* An escaped NUL or '%' beside a match comes out as it was, and a
   * segment keeps its escaped '/'. */
  scrub("https://example.org/a%00b/jo@example.org%25x", NULL,
        "https://example.org/a%00b/%5Bemail%5D%25x");
  scrub("https://example.org/a%2Fjo@example.org", NULL,
        "https://example.org/a%2F%5Bemail%5D");
  scrub("https://example.org/", NULL, "https://example.org/");
}

int main(void) {
  test_utf8_valid();
  test_utf8_invalid();
  test_url_basics();
  test_url_query();
  test_url_path();
  test_url_rejected();
  test_url_length();
  test_url_idempotent();
  test_invisible_titles();
  test_url_scrub();
  return tap_done();
}
