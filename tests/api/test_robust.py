"""Robustness: limits, timeouts, malformed and smuggling requests, many
connections. Each answer that should be read by the client is read by it
(the server closes lingeringly)."""
import json
import resource
import signal
import socket
import threading
import time
import unittest

from harness import SITE, Server, parse_responses


def connect(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def read_all(s, timeout=5.0):
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def quick_get(server, path="/healthz"):
    t0 = time.time()
    r = server.get(path, timeout=5)
    return r.status, time.time() - t0


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--header-timeout", "2000", "--body-timeout", "2000",
                            "--idle-timeout", "3000", "--rate-limit", "100000")

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.server.cleanup()

    def send_and_read(self, data):
        """Sends everything (in a thread, as a real client would while the
        answer arrives) and returns what the server answered."""
        s = connect(self.server)
        errors = []

        def sender():
            try:
                s.sendall(data)
            except OSError as e:  # the server may stop reading: that is fine
                errors.append(e)

        t = threading.Thread(target=sender)
        t.start()
        out = read_all(s)
        t.join(10)
        s.close()
        return parse_responses(out)

    def test_huge_header_431(self):
        data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20)
                + b"\r\n\r\n")
        out = self.send_and_read(data)
        self.assertEqual(out[0][0], 431)
        self.assertEqual(out[0][1]["connection"], "close")
        self.assertEqual(out[0][1]["content-type"], "application/problem+json")

    def test_many_headers_431(self):
        data = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-H%d: 1\r\n" % i for i in range(200)) + b"\r\n"
        self.assertEqual(self.send_and_read(data)[0][0], 431)

    def test_huge_body_413(self):
        body = b"x" * (10 << 20)
        data = (b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % len(body)) + body
        out = self.send_and_read(data)
        self.assertEqual(out[0][0], 413)

    def test_huge_chunked_body_413(self):
        chunk = b"x" * 65536
        data = (b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + (b"10000\r\n" + chunk + b"\r\n") * 160 + b"0\r\n\r\n")
        self.assertEqual(self.send_and_read(data)[0][0], 413)

    def test_malformed_400(self):
        for data in (b"GARBAGE\r\n\r\n",
                     b"GET /healthz HTTP/9.9\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHo st: x\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: x\x01y\r\n\r\n",
                     b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):  # TLS hello
            with self.subTest(data=data[:30]):
                out = parse_responses(self.server.raw(data))
                self.assertEqual(out[0][0], 400, out)
                self.assertEqual(out[0][1]["connection"], "close")

    def test_smuggling_refused(self):
        cases = {
            "CL and TE": b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"0\r\n\r\n",
            "two CLs": b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd",
            "obs-fold": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
            "bad chunk size": b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            "TE not chunked": b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                              b"Transfer-Encoding: gzip\r\n\r\nabc",
            "LF only in chunk": b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n",
        }
        for name, data in cases.items():
            with self.subTest(name):
                out = parse_responses(self.server.raw(data))
                self.assertTrue(out, f"{name}: no answer")
                self.assertEqual(out[0][0], 400, f"{name}: {out}")
                self.assertEqual(len(out), 1, f"{name}: a second request was smuggled")

    def test_split_segments(self):
        """A request cut into pieces at awkward places is read as one, and a
        fold hidden at a segment boundary is still refused."""
        def pieces(parts):
            s = connect(self.server)
            for p in parts:
                s.sendall(p)
                time.sleep(0.15)
            out = read_all(s, timeout=2)
            s.close()
            return parse_responses(out)
        out = pieces([b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a", b" b\r\n",
                      b"Connection: close\r\n\r\n"])
        self.assertEqual(out[0][0], 200)
        out = pieces([b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n",
                      b"  folded\r\n\r\n"])
        self.assertEqual(out[0][0], 400)
        out = pieces([b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t",
                      b"folded\r\n\r\n"])
        self.assertEqual(out[0][0], 400)

    def test_crlf_not_reflected(self):
        # Nothing a client sends is reflected into a response header.
        out = parse_responses(self.server.raw(
            b"OPTIONS /v1/sites/camden/ideas HTTP/1.1\r\nHost: x\r\n"
            b"Origin: https://www.camden.gov.uk\r\n"
            b"Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n"))
        self.assertEqual(out[0][0], 204)
        # RFC 9110 8.6: a 204 carries no Content-Length.
        self.assertNotIn("content-length", out[0][1])
        out = parse_responses(self.server.raw(
            b"GET /v1/sites/camden/ideas HTTP/1.1\r\nHost: x\r\n"
            b"Origin: https://www.camden.gov.uk%0d%0aSet-Cookie:%20x=1\r\n"
            b"Connection: close\r\n\r\n"))
        self.assertNotIn("set-cookie", out[0][1])
        self.assertNotIn("access-control-allow-origin", out[0][1])

    def test_slowloris_cut_off(self):
        """One byte a second: cut off by the header timeout (2 s here, fixed
        from the first byte), while another client is served promptly."""
        s = connect(self.server)
        s.sendall(b"G")
        t0 = time.time()
        closed_at = None
        prompt = []
        for i in range(8):
            time.sleep(1)
            status, took = quick_get(self.server)
            prompt.append(took < 1.0 and status == 200)
            try:
                s.sendall(b"ET /healthz HTTP/1.1\r\nX-Slow: 1\r\n"[i:i + 1])
                s.settimeout(0.05)
                if s.recv(1) == b"":
                    closed_at = time.time()
                    break
            except socket.timeout:
                pass
            except OSError:
                closed_at = time.time()
                break
        s.close()
        self.assertIsNotNone(closed_at, "the slow client was never cut off")
        self.assertLess(closed_at - t0, 5.0)
        self.assertTrue(all(prompt), "other clients waited")

    def test_slow_body_cut_off(self):
        s = connect(self.server)
        s.sendall(b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        t0 = time.time()
        out = read_all(s, timeout=6)
        self.assertEqual(out, b"", "no answer to a body that never came")
        self.assertLess(time.time() - t0, 5.5, "cut off by the body timeout")
        s.close()

    def test_refused_body_sent_at_once_still_gets_413(self):
        # Headers and a large body in one go: the server's first read fills
        # its whole input buffer before the 413 is decided. Lingering must
        # still read (and drop) the rest, not reset the connection while
        # the client is sending, which would lose the answer.
        body = b"x" * (1 << 20)
        req = (b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
        for _ in range(3):
            s = connect(self.server)
            try:
                s.sendall(req)
            except OSError as e:
                self.fail(f"the server reset the connection while the body "
                          f"was being sent: {e}")
            out = read_all(s)
            s.close()
            self.assertEqual(parse_responses(out)[0][0], 413)

    def test_trickled_body_cut_off(self):
        # A byte every 0.5 s never trips the 2 s between-reads timeout, but
        # at 2 bytes/s it is far below the minimum average rate (500 B/s by
        # default): the body's deadline (2 s, plus 2 ms a byte) cuts it off.
        s = connect(self.server)
        s.sendall(b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        t0 = time.time()
        closed = False
        s.settimeout(0.5)
        while time.time() - t0 < 10:
            try:
                s.send(b" ")
                if s.recv(4096) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        s.close()
        self.assertTrue(closed, "a trickled body is cut off")
        self.assertLess(time.time() - t0, 4.5, "by its deadline, not left open")
        # A client that sends its body at a normal pace is still served.
        r = self.server.request("POST", "/v1/sites/camden/feedback",
                                headers={"User-Agent": "after-trickle/1"},
                                json_body={"page": "https://www.camden.gov.uk/x",
                                           "useful": True})
        self.assertIn(r.status, (200, 201))

    def test_idle_keepalive_closed(self):
        s = connect(self.server)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        t0 = time.time()
        out = read_all(s, timeout=8)
        self.assertEqual(parse_responses(out)[0][0], 200)
        self.assertGreater(time.time() - t0, 2.5)
        self.assertLess(time.time() - t0, 6.0, "closed by the idle timeout")
        s.close()

    def test_slow_reader_does_not_block_others(self):
        """A client that pipelines many requests and never reads: the
        server stops reading from it; others are still served."""
        s = connect(self.server)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = b"GET /v1/sites/camden/ideas?limit=100 HTTP/1.1\r\nHost: x\r\n\r\n"
        s.settimeout(2)
        try:
            for _ in range(2000):
                s.send(req)
        except (socket.timeout, BlockingIOError, OSError):
            pass
        status, took = quick_get(self.server)
        self.assertEqual(status, 200)
        self.assertLess(took, 1.0)
        s.close()


class Connections(unittest.TestCase):
    def test_many_idle_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4500
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        server = Server("--idle-timeout", "60000")
        held = []
        try:
            for _ in range(2000):
                held.append(connect(server))
            time.sleep(0.5)
            status, took = quick_get(server)
            self.assertEqual(status, 200, "a new client is served")
            self.assertLess(took, 2.0)
            m = server.get("/metrics").body.decode()
            open_conns = int([l for l in m.splitlines()
                              if l.startswith("townhall_connections ")][0].split()[1])
            self.assertGreaterEqual(open_conns, 2000)
        finally:
            for s in held:
                s.close()
            self.assertEqual(server.stop(), 0)
            server.cleanup()

    def test_connection_limit_503(self):
        server = Server("--max-connections", "5", "--idle-timeout", "30000")
        held = []
        try:
            for _ in range(5):
                held.append(connect(server))
            time.sleep(0.3)
            out = parse_responses(server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
            self.assertEqual(out[0][0], 503)
            self.assertEqual(out[0][1]["retry-after"], "1")
            held.pop().close()
            time.sleep(0.3)
            self.assertEqual(server.get("/healthz").status, 200, "served again")
        finally:
            for s in held:
                s.close()
            self.assertEqual(server.stop(), 0)
            server.cleanup()

    def test_stop_finishes_a_request_in_flight(self):
        """SIGTERM while a request's body is still arriving: the request is
        answered (Connection: close) and committed; the server exits 0."""
        server = Server("--rate-limit", "100000")
        try:
            body = json.dumps({"page": "https://www.camden.gov.uk/inflight",
                               "useful": True}).encode()
            s = connect(server)
            s.sendall(b"POST /v1/sites/camden/feedback HTTP/1.1\r\nHost: x\r\n"
                      b"User-Agent: inflight/1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
            time.sleep(0.3)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            s.sendall(body[10:])
            out = parse_responses(read_all(s))
            s.close()
            self.assertEqual(out[0][0], 201, out)
            self.assertEqual(out[0][1]["connection"], "close")
            self.assertEqual(server.stop(sig=None), 0)
            server.start()
            r = server.get("/v1/sites/camden/feedback/summary?page=https://www.camden.gov.uk/inflight",
                           token=server.tokens["admin"])
            self.assertEqual(r.json()["yes"], 1)
        finally:
            server.cleanup()

    def test_extra_loops_share_the_port(self):
        server = Server("--loops", "1", "--rate-limit", "100000")
        try:
            statuses = set()
            for i in range(40):
                statuses.add(server.request("POST", f"/v1/sites/{SITE}/feedback",
                                            headers={"User-Agent": f"loops/{i}"},
                                            json_body={"page": "https://www.camden.gov.uk/l",
                                                       "useful": True}).status)
            self.assertEqual(statuses, {201})
            self.assertIn('"loops":2', server.log_text())
        finally:
            self.assertEqual(server.stop(), 0)
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
