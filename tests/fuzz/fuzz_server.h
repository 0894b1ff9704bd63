/*
 * fuzz_server.h: what the request-path harnesses (fuzz_http, fuzz_json)
 * share: a real th_server on a libuv loop in the fuzzer's own process, over
 * a scratch database, and a client that hands it bytes through a socketpair
 * (th__conn_adopt) and runs the loop until the connection is closed and the
 * writer has answered every command.
 *
 * Everything is deterministic where it can be: the database clock is fixed
 * at FUZZ_T0, so the resident JWTs in the seed corpora stay valid for ever,
 * and the staff tokens have fixed values (their stored hashes are replaced
 * after th_token_create), so seeds can carry them literally:
 *
 *   th_1_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa   admin of camden
 *   th_2_cccccccccccccccccccccccccccccccc   councillor of camden
 *   th_3_mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm   moderator of camden
 *   th_4_gggggggggggggggggggggggggggggggg   admin of every site
 *
 * Sites: "camden" (origin https://www.camden.gov.uk, anonymous
 * participation, resident-token secret FUZZ_SECRET, keeps the "id" query
 * parameter) and "islington" (moderated, no anonymous participation, no
 * secret). The peer address is 192.0.2.1, which is also a trusted proxy, so
 * X-Forwarded-For is parsed.
 */
#ifndef TH_FUZZ_SERVER_H
#define TH_FUZZ_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* 2026-03-02T10:00:00Z, in milliseconds. */
#define FUZZ_T0 INT64_C(1772445600000)
#define FUZZ_SECRET "camden-resident-token-secret-0123456789abcdef"

/* Creates the database once per process (idempotent) and returns the
 * handle (the caller's handle, never used by the server). */
struct th_db;
struct th_db *fuzz_db(void);
/* Creates the database and the server once per process (idempotent). */
void fuzz_server_init(void);

/* Serves `data` as the bytes of one client connection: written in the
 * segments that the two-byte marker FUZZ_SPLIT separates (the marker itself
 * is not sent), the loop run between segments so the server reads each on
 * its own; then the client shuts down its write side and the loop runs
 * until the server has closed the connection and every command it gave
 * the writer is answered. The answer is read and discarded; its length
 * goes to *out_len if not NULL. */
#define FUZZ_SPLIT "\xfe\xff"
void fuzz_server_feed(const uint8_t *data, size_t size, size_t *out_len);
/* The same, sent as one segment whatever it holds. */
void fuzz_server_feed_raw(const uint8_t *data, size_t size, size_t *out_len);

/* An HS256 resident token for camden (sub `sub`, valid at FUZZ_T0), in a
 * static buffer. */
const char *fuzz_resident_jwt(const char *sub);

#endif
