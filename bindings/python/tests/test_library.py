"""Loading the library, the error table and the handle-less functions."""
import os
import subprocess
import sys
import unittest
from unittest import mock

import townhall
from townhall import _lib, errors


class LoadingTest(unittest.TestCase):
    def test_version_matches_the_package(self):
        self.assertEqual(townhall.version(), townhall.__version__)
        self.assertTrue(os.path.exists(townhall.library_path())
                        or "libtownhall" in townhall.library_path())

    def test_environment_variable_names_the_library(self):
        lib = os.environ.get("TOWNHALL_LIBRARY")
        if lib:
            self.assertEqual(os.path.realpath(townhall.library_path()),
                             os.path.realpath(lib))

    def test_bad_environment_variable_is_an_error_not_a_fallback(self):
        env = dict(os.environ, TOWNHALL_LIBRARY="/nonexistent/libtownhall.so")
        p = subprocess.run(
            [sys.executable, "-c", "import townhall; townhall.version()"],
            env=env, capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("LibraryNotFoundError", p.stderr)
        self.assertIn("TOWNHALL_LIBRARY=/nonexistent/libtownhall.so",
                      p.stderr)

    def test_missing_library_lists_what_was_searched(self):
        with mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop("TOWNHALL_LIBRARY", None)
            with mock.patch.object(_lib.ctypes.util, "find_library",
                                   return_value=None), \
                    mock.patch.object(_lib, "_candidates",
                                      return_value=["libtownhall-none.so.0"]):
                with self.assertRaises(_lib.LibraryNotFoundError) as cm:
                    _lib._load()
        msg = str(cm.exception)
        self.assertIn("TOWNHALL_LIBRARY (not set)", msg)
        self.assertIn("find_library('townhall') -> nothing", msg)
        self.assertIn("libtownhall-none.so.0", msg)
        self.assertIsInstance(cm.exception, OSError)

    def test_sized_structs_carry_their_size(self):
        # townhall.h, "Structs that grow": the library reads only what a
        # struct's size covers, so each mirror sets it to its own sizeof.
        sized = [c for c in vars(_lib).values()
                 if isinstance(c, type) and issubclass(c, _lib._Sized)
                 and c is not _lib._Sized]
        self.assertEqual(
            sorted(c.__name__ for c in sized),
            ["th_consultation", "th_feedback", "th_idea_new", "th_idea_query",
             "th_key_rotation", "th_open_data_options", "th_open_options",
             "th_purge_report", "th_site"])
        for cls in sized:
            self.assertEqual(cls._fields_[0][0], "size", cls.__name__)
            self.assertEqual(cls().size, _lib.ctypes.sizeof(cls),
                             cls.__name__)
        # Positional arguments are the members after size.
        fb = _lib.th_feedback(b"https://example.org/", 1, 4, b"ok")
        self.assertEqual((fb.size, fb.page, fb.useful, fb.rating,
                          fb.comment),
                         (_lib.ctypes.sizeof(fb), b"https://example.org/",
                          1, 4, b"ok"))

    def test_every_function_is_declared(self):
        # restype None or a ctypes type; argtypes a list, for every
        # function used: the default int return would truncate pointers.
        for name, (restype, argtypes) in _lib.PROTOTYPES.items():
            fn = getattr(_lib.lib, name)
            self.assertIs(fn.restype, restype, name)
            self.assertEqual(list(fn.argtypes), list(argtypes), name)


class ErrorTableTest(unittest.TestCase):
    def test_one_class_per_code_of_the_library(self):
        seen = set()
        for code in range(-1, -100, -1):
            name = townhall.error_name(code)
            if name == "TH_EUNKNOWN":
                continue
            cls = errors.ERRORS.get(code)
            self.assertIsNotNone(cls, f"no exception class for {name}")
            self.assertEqual(cls.name, name)
            self.assertEqual(cls.code, code)
            self.assertTrue(issubclass(cls, townhall.TownhallError))
            self.assertNotIn(cls, seen)
            seen.add(cls)
        self.assertEqual(len(seen), len(errors.ERRORS))
        self.assertGreaterEqual(len(seen), 24)  # TH_ECONFLICT: 0.2.0

    def test_unknown_code_gives_the_base_class(self):
        e = errors.error_for(-999, "something new")
        self.assertIs(type(e), townhall.TownhallError)
        self.assertEqual(e.code, -999)
        self.assertEqual(e.name, "TH_EUNKNOWN")
        self.assertEqual(e.message, "something new")

    def test_builtin_bases(self):
        self.assertTrue(issubclass(townhall.NotFound, LookupError))
        self.assertTrue(issubclass(townhall.InvalidArgument, ValueError))
        self.assertTrue(issubclass(townhall.TooLong, ValueError))
        self.assertTrue(issubclass(townhall.IOFailure, OSError))
        e = townhall.IOFailure("disk on fire")
        self.assertEqual(str(e), "disk on fire (TH_EIO)")

    def test_strerror(self):
        self.assertEqual(townhall.strerror(-3), "not found")
        self.assertEqual(townhall.error_name(2), "TH_DUPLICATE")


class TextTest(unittest.TestCase):
    def test_redact(self):
        out = townhall.redact("mail jo@example.com or ring 020 7946 0018, "
                              "NW1 2DB")
        self.assertIn("[email]", out)
        self.assertIn("[phone]", out)
        self.assertIn("NW1 [postcode]", out)
        self.assertNotIn("jo@example.com", out)

    def test_normalize_url(self):
        self.assertEqual(
            townhall.normalize_url("HTTPS://WWW.Camden.gov.uk:443/bins?"
                                   "email=a@b.c&id=4#top", "id"),
            "https://www.camden.gov.uk/bins?id=4")

    def test_normalize_url_refuses_other_schemes(self):
        with self.assertRaises(townhall.InvalidArgument) as cm:
            townhall.normalize_url("ftp://example.com/")
        self.assertEqual(cm.exception.name, "TH_EINVAL")

    def test_utf8_check(self):
        townhall.check_utf8("Café ✓")
        with self.assertRaises(townhall.InvalidUTF8):
            townhall.check_utf8(b"\xc0\xaf")  # overlong "/"
        with self.assertRaises(townhall.InvalidUTF8):
            townhall.check_utf8("\ud800")  # a lone surrogate

    def test_nul_is_refused_before_the_library(self):
        with self.assertRaises(townhall.InvalidArgument):
            townhall.redact("a\0b")

    def test_type_errors(self):
        with self.assertRaises(TypeError):
            townhall.redact(42)


if __name__ == "__main__":
    unittest.main()
