#!/usr/bin/env python3
"""Opens dora's finance CSV in LibreOffice Calc (headless) and checks that
numbers come back as numbers, dates as dates, and text (including a service
named like a formula) as text.

Usage: scripts/check-finance-csv.py DORA_BINARY
Needs: LibreOffice (Debian: libreoffice-calc-nogui).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
NUMBERS = {"deployments", "deploy_days", "changes_shipped", "lead_time_median_hours", "lead_time_p90_hours",
           "failed_deployments", "change_failure_rate", "incidents", "time_to_restore_median_hours",
           "recovery_time_median_hours", "rework_deployments", "rework_rate", "cost", "cost_per_deployment",
           "cost_per_change"}
DATES = {"period_start", "period_end"}
EVIL = '=HYPERLINK("http://x","y")'


def cells(row):
    out = []
    for c in row.findall("table:table-cell", NS):
        repeat = int(c.get(f"{{{NS['table']}}}number-columns-repeated", "1"))
        kind = c.get(f"{{{NS['office']}}}value-type", "")
        text = "".join(p.text or "" for p in c.iter(f"{{{NS['text']}}}p"))
        out.extend([(kind, text)] * min(repeat, 64))
    return out


def main():
    dora = os.path.abspath(sys.argv[1])
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        sys.exit("LibreOffice (soffice) is not installed")
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    demo = os.path.join(root, "examples", "demo", "events.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        events = os.path.join(tmp, "events.jsonl")
        with open(demo) as src, open(events, "w") as dst:
            dst.write(src.read())
            dst.write('{"kind":"change","id":"evil1","service":"%s","committed_at":"2026-07-01T09:00:00Z"}\n' % EVIL.replace('"', '\\"'))
            dst.write('{"kind":"deployment","id":"evil-d1","service":"%s","environment":"production",'
                      '"finished_at":"2026-07-01T12:00:00Z","status":"success","changes":["evil1"]}\n' % EVIL.replace('"', '\\"'))
        csv = os.path.join(tmp, "finance.csv")
        subprocess.run([dora, "export", "csv", "--events", events, "--since", "2026-06-01", "--until", "2026-09-01",
                        "--output", csv], check=True, cwd=tmp)
        profile = "file://" + os.path.join(tmp, "lo-profile")
        subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--infilter=CSV:44,34,76,1",
                        "--convert-to", "fods", "--outdir", tmp, csv], check=True, cwd=tmp,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180)
        doc = ET.parse(os.path.join(tmp, "finance.fods"))
    rows = [cells(r) for r in doc.iter(f"{{{NS['table']}}}table-row")]
    header = [t for _, t in rows[0]]
    problems = []
    checked = 0
    for r in rows[1:]:
        if not r or not r[0][1]:
            continue
        for name, (kind, text) in zip(header, r):
            if text == "":
                continue
            checked += 1
            if name in NUMBERS and kind != "float":
                problems.append(f"{name}={text!r} read as {kind or 'text'}, not a number")
            if name in DATES and kind != "date":
                problems.append(f"{name}={text!r} read as {kind or 'text'}, not a date")
            if name in ("team", "service", "cost_center", "group_by", "currency") and kind not in ("string", ""):
                problems.append(f"{name}={text!r} read as {kind}, not text")
    formulas = [c for c in doc.iter(f"{{{NS['table']}}}table-cell") if c.get(f"{{{NS['table']}}}formula")]
    if formulas:
        problems.append(f"{len(formulas)} cells were read as formulas")
    evil = [r for r in rows if any(EVIL in t for _, t in r)]
    if not evil:
        problems.append("the formula-like service name is not in the sheet as text")
    if problems:
        print("\n".join(problems[:20]), file=sys.stderr)
        sys.exit(1)
    print(f"finance CSV in LibreOffice: ok ({len(rows) - 1} rows, {checked} cells checked)")


if __name__ == "__main__":
    main()
