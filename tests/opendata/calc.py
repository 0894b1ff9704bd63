"""CSV files opened as LibreOffice Calc opens them (headless), read back.

  convert(files, separators, workdir) -> {path: rows} or raises CalcError
  formulas(rows) -> [(row, column, shown, formula)]

Each file is converted to flat OpenDocument (.fods) by `soffice
--convert-to`, its import filter told the separator(s) and to evaluate
formulas, and the first sheet is read back as rows of (shown text,
formula or None). Used by test_spreadsheets.py and by the examples suite
(tests/suites/71-examples.sh), or from the command line:

  python3 calc.py SEPARATORS FILE...   e.g. 59 or 44/59/9/124; exit 1 if a
                                       cell of any file is a formula
"""
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
X = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


class CalcError(Exception):
    pass


def soffice():
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


def cell_text(cell):
    """A cell's text as shown: paragraphs joined by line breaks, with
    LibreOffice's run-length spaces and tabs expanded."""
    lines = []
    for p in cell.iter(X + "p"):
        parts = []

        def walk(e):
            if e.text:
                parts.append(e.text)
            for child in e:
                if child.tag == X + "s":
                    parts.append(" " * int(child.get(X + "c", "1")))
                elif child.tag == X + "tab":
                    parts.append("\t")
                elif child.tag == X + "line-break":
                    parts.append("\n")
                else:
                    walk(child)
                if child.tail:
                    parts.append(child.tail)
        walk(p)
        lines.append("".join(parts))
    return "\n".join(lines)


def read_fods(path):
    """[[(text, formula or None), ...], ...] for the first sheet, trailing
    empty cells and rows dropped."""
    sheet = next(ET.parse(path).getroot().iter(T + "table"))
    rows = []
    for row in sheet.iter(T + "table-row"):
        cells = []
        for c in row:
            if c.tag not in (T + "table-cell", T + "covered-table-cell"):
                continue
            n = min(int(c.get(T + "number-columns-repeated", "1")), 64)
            cells += [(cell_text(c), c.get(T + "formula"))] * n
        while cells and cells[-1] == ("", None):
            cells.pop()
        n = min(int(row.get(T + "number-rows-repeated", "1")), 64)
        rows += [cells] * n
    while rows and not rows[-1]:
        rows.pop()
    return rows


def convert(files, separators, workdir):
    """{file: rows} for each CSV file opened with `separators` (ASCII codes,
    "/" between several). LibreOffice's CSV import options: separators, text
    delimiter ("), UTF-8 (76), from line 1, standard column formats, default
    language, quoted fields not forced to text, no special numbers, (three
    export options), spaces kept, all sheets, and token 13: evaluate
    formulas, as a user opening the file gets. A profile of its own in
    `workdir`: another LibreOffice on the machine must not share it."""
    exe = soffice()
    if exe is None:
        raise CalcError("LibreOffice (soffice) is not installed: scripts/deps "
                        "installs libreoffice-calc-nogui")
    out = tempfile.mkdtemp(prefix="lo-", dir=workdir)
    profile = "file://" + os.path.join(workdir, "lo-profile")
    opts = f"CSV:{separators},34,76,1,,0,false,false,false,false,false,-1,true"
    p = subprocess.run(
        [exe, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         f"--infilter={opts}", "--convert-to", "fods", "--outdir", out,
         *files], capture_output=True, text=True, timeout=300)
    sheets = {}
    for f in files:
        name = os.path.splitext(os.path.basename(f))[0] + ".fods"
        fods = os.path.join(out, name)
        if not os.path.exists(fods):
            raise CalcError(f"soffice made no {name}: {p.stdout}{p.stderr}")
        sheets[f] = read_fods(fods)
    return sheets


def formulas(rows):
    return [(i + 1, j + 1, text, f) for i, r in enumerate(rows)
            for j, (text, f) in enumerate(r) if f]


if __name__ == "__main__":
    work = tempfile.mkdtemp(prefix="townhall-calc-")
    try:
        found = 0
        for f, rows in convert(sys.argv[2:], sys.argv[1], work).items():
            for cell in formulas(rows):
                print(f"{f}: row {cell[0]}, column {cell[1]} is a formula: "
                      f"{cell[3]}")
                found += 1
        sys.exit(1 if found else 0)
    except CalcError as e:
        print(e)
        sys.exit(2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
