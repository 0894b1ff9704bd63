"""Checks responses against docs/openapi.yaml: every answer the API tests
receive must be documented (path, method, status, media type) and, when it
is JSON, match the schema there. So the document stays true."""
import json
import os
import re
import unittest

import jsonschema
import yaml

from harness import SRC

with open(os.path.join(SRC, "docs", "openapi.yaml")) as f:
    SPEC = yaml.safe_load(f)

_ROUTES = []
for template, item in SPEC["paths"].items():
    rx = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
    _ROUTES.append((re.compile(rx), template, item))

_RESOLVER = jsonschema.RefResolver.from_schema(SPEC)


def _deref(node):
    while isinstance(node, dict) and "$ref" in node:
        _, node = _RESOLVER.resolve(node["$ref"])
    return node


def check(method, path, resp):
    """Raises AssertionError if the response is not what the document says."""
    path = path.split("?")[0]
    if method == "HEAD":
        method = "GET"  # HEAD answers as GET does, without the body
    for rx, template, item in _ROUTES:
        if rx.match(path):
            break
    else:
        # Any other path is a 404 problem.
        if resp.status == 404 and resp.header("content-type") == \
                "application/problem+json":
            jsonschema.validate(json.loads(resp.body),
                                SPEC["components"]["schemas"]["Problem"])
            return None
        raise AssertionError(f"{path} is not in docs/openapi.yaml")
    op = item.get(method.lower())
    if op is None:
        if resp.status == 405:
            return template
        raise AssertionError(f"{method} {template} is not documented")
    responses = op["responses"]
    status = str(resp.status)
    if status not in responses:
        raise AssertionError(
            f"{method} {template} answered {status}, which is not documented "
            f"(documented: {', '.join(sorted(responses))})")
    documented = _deref(responses[status])
    content = documented.get("content")
    ctype = (resp.header("content-type") or "").split(";")[0].strip()
    if not content:
        return template
    media = content.get(ctype)
    if media is None:
        raise AssertionError(f"{method} {template} {status}: content type "
                             f"{ctype!r} is not documented ({list(content)})")
    schema = media.get("schema")
    if schema and ctype.endswith("json") and resp.body:
        jsonschema.validate(json.loads(resp.body), schema, resolver=_RESOLVER,
                            cls=jsonschema.Draft202012Validator)
    return template


class ServerCase(unittest.TestCase):
    """A test class with one server of its own (`cls.server`, started by
    the class's setUpClass), stopped cleanly at the end, whose every
    answer through `call` is checked against docs/openapi.yaml."""

    server = None

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        assert rc == 0, f"server exited with {rc}"
        cls.server.cleanup()

    def call(self, method, path, **kw):
        r = self.server.request(method, path, **kw)
        check(method, path, r)
        return r
