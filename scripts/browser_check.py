#!/usr/bin/env python3
"""Drive the counter page (GET /) of a running `yinzheng serve --demo` in
headless Chromium over the DevTools protocol, as counter staff would use it.

Called by crates/server/tests/browser.rs; standard library only (the
WebSocket client below is the few lines CDP needs), so any python3 runs it.

Steps: open the page; type the API key and the four usage fields; choose the
valid license's PDF -> verdict "valid", with its face data, holder, authority
and seal picture (a blob: URL under the page's CSP); screenshot; a tampered
copy -> "not-genuine"; the revoked license's PDF -> "not-valid-now"; an
unknown identifier typed in -> "not-found"; the holder's QR token -> "valid".
No page errors or console errors are allowed along the way.

Exit status: 0 passed, 1 a check failed, 3 the server serves another page
than --expect-index (the `yinzheng` binary is older than the source).
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

TIMEOUT = 30.0


class Failed(Exception):
    pass


# --- a minimal WebSocket client (RFC 6455), enough for CDP ------------------

class WebSocket:
    def __init__(self, url, timeout=TIMEOUT):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise Failed(f"DevTools WebSocket handshake refused: {lines[0]}")
        want = base64.b64encode(
            hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
        ).decode()
        got = [l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("sec-websocket-accept:")]
        if got != [want]:
            raise Failed("DevTools WebSocket handshake: bad Sec-WebSocket-Accept")

    def _fill(self):
        b = self.sock.recv(1 << 16)
        if not b:
            raise Failed("DevTools WebSocket closed")
        self.buf += b

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, data):
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        m = int.from_bytes((mask * (n // 4 + 1))[:n], "big") if n else 0
        body = (int.from_bytes(data, "big") ^ m).to_bytes(n, "big") if n else b""
        self.sock.sendall(head + mask + body)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        parts = []
        while True:
            b0, b1 = self._take(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._take(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._take(8))
            mask = self._take(4) if b1 & 0x80 else None
            data = self._take(n)
            if mask:
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
            if opcode == 0x8:
                raise Failed("DevTools WebSocket closed by the browser")
            if opcode == 0x9:
                self._send_frame(0xA, data)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode()

    def close(self):
        try:
            self._send_frame(0x8, b"")
            self.sock.close()
        except OSError:
            pass


# --- DevTools protocol ------------------------------------------------------

class Page:
    def __init__(self, ws):
        self.ws = ws
        self.seq = 0
        self.problems = []

    def call(self, method, **params):
        self.seq += 1
        self.ws.send(json.dumps({"id": self.seq, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.seq:
                if "error" in msg:
                    raise Failed(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.problems.append(f"page exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.problems.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            # An API answer of 4xx (the unknown identifier's 404) is one the page shows.
            if e.get("source") == "network" and "/v1/" in e.get("url", "") and "status of 4" in e.get("text", ""):
                return
            self.problems.append(f"browser log ({e.get('source')}): {e.get('text')} {e.get('url', '')}")

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise Failed(f"evaluating {expr!r}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def wait(self, expr, what, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = self.js(expr)
            if v:
                return v
            time.sleep(0.1)
        raise Failed(f"timed out after {timeout:.0f} s waiting for {what}")

    def type_into(self, element_id, text):
        self.js(f"(function(e){{e.focus(); e.select && e.select();}})(document.getElementById({json.dumps(element_id)}))")
        self.call("Input.insertText", text=text)

    def press_enter(self):
        for t in ("keyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent", type=t, key="Enter", code="Enter",
                windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                **({"text": "\r"} if t == "keyDown" else {}),
            )


# --- helpers ----------------------------------------------------------------

def der_tlv(b, i):
    """(tag, content start, content end) of the DER element at i."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n


def spki_sha256_b64(cert_der):
    """base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list takes."""
    _, c, _ = der_tlv(cert_der, 0)  # Certificate
    _, i, _ = der_tlv(cert_der, c)  # TBSCertificate content
    fields = 0
    while True:
        tag, s, e = der_tlv(cert_der, i)
        if tag != 0xA0:  # skip the explicit version
            fields += 1
            if fields == 6:  # serial, signature, issuer, validity, subject, spki
                return base64.b64encode(hashlib.sha256(cert_der[i:e]).digest()).decode()
        i = e


def tls_context(root):
    ctx = ssl.create_default_context(cafile=root)
    return ctx


def fetch_leaf(base, root):
    u = urllib.parse.urlsplit(base)
    with socket.create_connection((u.hostname, u.port), timeout=TIMEOUT) as s:
        with tls_context(root).wrap_socket(s, server_hostname=u.hostname) as t:
            return t.getpeercert(binary_form=True)


def api_get(base, root, path, key):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(req, context=tls_context(root), timeout=TIMEOUT) as r:
        return r.status, dict(r.headers), r.read()


def start_chromium(binary, profile, spki):
    args = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-extensions",
        "--disable-sync", "--no-first-run", "--no-default-browser-check", "--mute-audio",
        "--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1000,900",
        "--lang=zh-CN", f"--user-data-dir={profile}", "--remote-debugging-port=0",
        # Trust exactly the demo server's key (the demo root is not in any browser store).
        f"--ignore-certificate-errors-spki-list={spki}",
        "about:blank",
    ]

    def die_with_parent():
        # The browser goes when this script goes, even on SIGKILL.
        try:
            import ctypes
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass

    log = open(os.path.join(profile, "chromium.log"), "wb")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True, preexec_fn=die_with_parent)
    port_file = os.path.join(profile, "DevToolsActivePort")
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        if p.poll() is not None:
            raise Failed(f"chromium exited with {p.returncode}: {tail(profile)}")
        try:
            with open(port_file) as f:
                port = f.readline().strip()
            if port:
                return p, int(port)
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise Failed(f"chromium did not open its DevTools port within {TIMEOUT:.0f} s: {tail(profile)}")


def tail(profile):
    try:
        with open(os.path.join(profile, "chromium.log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")
    except OSError:
        return ""


def stop_chromium(p, page=None):
    """Browser.close, then SIGTERM, then SIGKILL to the whole process group."""
    if page is not None and p.poll() is None:
        try:
            page.call("Browser.close")
        except (Failed, OSError, ValueError):
            pass
    for step in ("wait", "term"):
        if step == "term" and p.poll() is None:
            p.terminate()
        try:
            p.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    # Chromium's zygotes were orphaned to us (the subreaper): reap them.
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.05)


def become_subreaper():
    """Orphaned descendants (Chromium double-forks its zygotes) become our
    children, so they are reaped here rather than left to init."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


# --- the checks --------------------------------------------------------------

STATE = """(function(){var v=document.getElementById('verdict');return {run:+v.dataset.run,verdict:v.dataset.verdict,text:v.innerText,
details:document.getElementById('details').innerText};})()"""


def check_once(page, n, trigger, want, what):
    trigger()
    page.wait(f"+document.getElementById('verdict').dataset.run >= {n}", f"the verdict of {what}")
    s = page.js(STATE)
    if s["run"] != n or s["verdict"] != want:
        raise Failed(f"{what}: verdict {s['verdict']!r} (run {s['run']}), want {want!r}\n{s['text']}\n{s['details']}")
    print(f"ok   {what}: {want} - {' '.join(s['text'].split())}", flush=True)
    return s


def run(a, profile):
    # The server's TLS, checked against the demo root, and the page it serves.
    leaf = fetch_leaf(a.url, a.tls_root)
    status, headers, body = api_get(a.url, a.tls_root, "/", a.api_key)
    if a.expect_index:
        with open(a.expect_index, "rb") as f:
            if f.read() != body:
                print("the server serves another counter page than this source tree's", file=sys.stderr)
                return 3
    csp = {k.lower(): v for k, v in headers.items()}.get("content-security-policy", "")
    if "default-src 'self'" not in csp:
        raise Failed(f"GET / has no strict CSP: {csp!r}")

    # The oracle: the JSON API's own view of the valid license.
    usage = urllib.parse.urlencode({"purpose": "浏览器测试", "matter": "TEST-0001",
                                    "businessSerial": "BS-ORACLE", "operator": "oracle"})
    _, _, j = api_get(a.url, a.tls_root, f"/v1/licenses/{urllib.parse.quote(a.valid_id)}?{usage}", a.api_key)
    lic = json.loads(j)["license"]

    proc, port = start_chromium(a.chromium, profile, spki_sha256_b64(leaf))
    page = None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT) as r:
            targets = json.load(r)
        target = next(t for t in targets if t.get("type") == "page")
        ws = WebSocket(target["webSocketDebuggerUrl"])
        page = Page(ws)
        for d in ("Page", "Runtime", "Log", "DOM"):
            page.call(f"{d}.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1000, height=900, deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=a.url + "/")
        page.wait("document.readyState === 'complete' && !!document.getElementById('verdict')", "the page to load")
        title = page.js("document.title")
        print(f"ok   page loaded: {title}", flush=True)

        page.type_into("apiKey", a.api_key)
        for k, v in (("purpose", "企业开办"), ("matter", "DEMO-0001"),
                     ("businessSerial", "BS-20250101-0001"), ("operator", "柜台01 counter-01")):
            page.type_into(k, v)
        if not page.js(f"sessionStorage.getItem('yz.apiKey') === {json.dumps(a.api_key)} && "
                       "sessionStorage.getItem('yz.usage.operator') === '柜台01 counter-01' && localStorage.length === 0"):
            raise Failed("the API key and usage fields are not kept in sessionStorage (only)")

        root = page.call("DOM.getDocument", depth=0)["root"]["nodeId"]
        file_node = page.call("DOM.querySelector", nodeId=root, selector="#file")["nodeId"]

        def choose(path):
            return lambda: page.call("DOM.setFileInputFiles", files=[os.path.abspath(path)], nodeId=file_node)

        def lookup(text):
            def go():
                page.js("document.getElementById('text').value = ''")
                page.type_into("text", text)
                page.press_enter()
            return go

        # 1. The valid license's sealed PDF.
        s = check_once(page, 1, choose(a.valid_pdf), "valid", "the valid license's PDF")
        shown = s["details"]
        want = [lic["issuerName"], lic["holder"]["name"]] + [v for _, v in lic["face"]]
        missing = [w for w in want if w not in shown]
        if missing or not lic["face"]:
            raise Failed(f"the result does not show {missing} (face {lic['face']}):\n{shown}")
        if page.js("document.getElementById('issuerName').textContent") != lic["issuerName"]:
            raise Failed("#issuerName is not the issuing authority")
        if not page.js("/^No\\. \\d+$/.test(document.getElementById('usageRecord').textContent)"):
            raise Failed("no usage record number shown")
        page.wait("(function(i){return !document.getElementById('seal').hidden && i.complete && i.naturalWidth > 0 "
                  "&& i.src.indexOf('blob:') === 0;})(document.getElementById('sealImg'))",
                  "the seal picture (fetched with the API key, shown through a blob: URL)")
        print("ok   face data, holder, authority, usage record and seal picture shown", flush=True)
        shot = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
        if not shot.startswith(b"\x89PNG\r\n\x1a\n"):
            raise Failed("the screenshot is not a PNG")
        with open(a.screenshot, "wb") as f:
            f.write(shot)
        print(f"ok   screenshot {a.screenshot} ({len(shot)} bytes)", flush=True)

        # 2. A tampered copy; 3. the revoked license; 4. an unknown identifier; 5. the QR token.
        check_once(page, 2, choose(a.tampered_pdf), "not-genuine", "a tampered copy of the PDF")
        if page.js("document.getElementById('seal').hidden") is not True:
            raise Failed("a seal picture is shown for a tampered file")
        s = check_once(page, 3, choose(a.revoked_pdf), "not-valid-now", "the revoked license's PDF")
        if "revoked" not in s["text"]:
            raise Failed(f"the revoked verdict does not say revoked: {s['text']}")
        check_once(page, 4, lookup(a.unknown_id), "not-found", "an unknown identifier typed in")
        if a.token:
            check_once(page, 5, lookup(a.token), "valid", "the holder's QR token")

        if page.problems:
            raise Failed("the page reported errors:\n  " + "\n  ".join(page.problems))
    finally:
        stop_chromium(proc, page)
    print("browser check passed", flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chromium", default=os.environ.get("YINZHENG_CHROMIUM", "chromium"))
    ap.add_argument("--url", required=True, help="https://127.0.0.1:PORT")
    ap.add_argument("--tls-root", required=True, help="the demo's TLS root (HOME/demo/tls-root.pem)")
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--valid-id", required=True)
    ap.add_argument("--valid-pdf", required=True)
    ap.add_argument("--tampered-pdf", required=True)
    ap.add_argument("--revoked-pdf", required=True)
    ap.add_argument("--unknown-id", required=True)
    ap.add_argument("--token", help="a fresh holder QR token of a valid license")
    ap.add_argument("--expect-index", help="the page the server should serve (web/index.html)")
    ap.add_argument("--screenshot", required=True, help="where to write the PNG of the valid verdict")
    a = ap.parse_args()
    if shutil.which(a.chromium) is None:
        print(f"`{a.chromium}` not found: apt-get install chromium (scripts/test.sh installs it)", file=sys.stderr)
        return 1
    become_subreaper()
    profile = tempfile.mkdtemp(prefix="yinzheng-chromium-")
    try:
        return run(a, profile)
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
