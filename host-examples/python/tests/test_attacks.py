"""An attack run on the Python and Node hosts, kept as tests: bundles,
manifests, trust stores, revision states and requests the Rust host refuses
must be refused here too (never read another way), and a bundle that never
ran must not raise the recorded revision."""

from __future__ import annotations

import json
import shutil
import tempfile
import unittest
from datetime import datetime
from pathlib import Path

import nacl.signing

from slicegate_host import BundleRefused, Host, TrustStore, TrustStoreError
from slicegate_host import bundle as bundles
from slicegate_host import strict

from test_host import ENV, HAVE, REQUEST, leb, lp, sign

MANIFEST = "slicegate-manifest"


def custom(name: str | bytes, data: bytes) -> bytes:
    name = name.encode() if isinstance(name, str) else name
    payload = lp(name) + data
    return b"\x00" + lp(payload)


def with_manifest(unsigned: bytes, text: bytes) -> bytes:
    """`unsigned` with its manifest section's data replaced by `text`."""
    out = bytearray(unsigned[:8])
    for s in bundles.sections(unsigned):
        out += custom(MANIFEST, text) if s.custom_name == MANIFEST else unsigned[s.start : s.end]
    return bytes(out)


def manifest_of(unsigned: bytes) -> dict:
    s = next(s for s in bundles.sections(unsigned) if s.custom_name == MANIFEST)
    return json.loads(unsigned[s.data_start : s.end])


TABLE = json.loads((Path(__file__).resolve().parents[2] / "strictness.json").read_text())


class InstantsTest(unittest.TestCase):
    """The Rust host's `humantime::parse_rfc3339_weak`, case by case
    (host-examples/strictness.json, shared with the Node host's tests)."""

    def test_what_is_read_and_how(self):
        for text, iso in TABLE["instantsRead"]:
            expected = datetime.fromisoformat(iso.replace("Z", "+00:00"))
            self.assertEqual(strict.parse_instant(text), expected, text)

    def test_what_is_refused(self):
        for text in TABLE["instantsRefused"]:
            with self.assertRaises(ValueError, msg=text):
                strict.parse_instant(text)


class StrictJsonTest(unittest.TestCase):
    def test_what_serde_json_refuses_is_refused(self):
        texts = [bytes.fromhex(h) for h in TABLE["jsonRefusedHex"]]
        texts += [b"[" * n + b"]" * n for n in TABLE["jsonNestedRefused"]]
        for text in texts:
            with self.assertRaises(ValueError, msg=text[:40]):
                strict.loads(text)

    def test_a_float_is_never_a_whole_number(self):
        for text in TABLE["jsonFloats"]:
            self.assertIsInstance(strict.loads(text)["a"], float, text)
        self.assertEqual(strict.loads(b'{"a": 0, "b": [1, "x"]}'), {"a": 0, "b": [1, "x"]})


@unittest.skipUnless(HAVE, "run by scripts/cross-host.sh, which builds and signs a bundle")
class AttackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.unsigned = Path(ENV["UNSIGNED"]).read_bytes()
        cls.key = nacl.signing.SigningKey.generate()

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir)
        self.trust_path = self.dir / "trust.toml"
        self.trust_path.write_text(
            f'threshold = 1\n[[keys]]\nid = "a"\npublic_key = "{bytes(self.key.verify_key).hex()}"\n'
        )
        self.trust = TrustStore.load(self.trust_path)

    def signed(self, unsigned: bytes) -> bytes:
        return sign(unsigned, [("a", self.key)])

    def manifest_bundle(self, change) -> bytes:
        manifest = manifest_of(self.unsigned)
        text = change(manifest)
        return self.signed(with_manifest(self.unsigned, text if isinstance(text, bytes) else json.dumps(manifest).encode()))

    def test_manifests_the_rust_host_refuses(self):
        def raw(text):
            return lambda m: text(json.dumps(m))

        cases = {
            "notAfter twice": raw(lambda t: t[:-1].encode() + b', "notAfter": "2020-01-01T00:00:00Z", "notAfter": "2099-01-01T00:00:00Z"}'),
            "revision twice": raw(lambda t: t[:-1].encode() + b', "revision": 1}'),
            "unknown field": lambda m: m.update(extra=1),
            "createdAt missing": lambda m: m.pop("createdAt"),
            "format -1": lambda m: m.update(format=-1),
            "format true": lambda m: m.update(format=True),
            "format 1.0": raw(lambda t: t.replace('"format": 1', '"format": 1.0').encode()),
            "revision 2^70": lambda m: m.update(revision=2**70),
            "revision 3.0": raw(lambda t: t.replace('"revision": ', '"revision": 3.0, "_": ').encode()),
            "byte-order mark": raw(lambda t: b"\xef\xbb\xbf" + t.encode()),
            "UTF-16": raw(lambda t: t.encode("utf-16")),
            "name not UTF-8": raw(lambda t: t.replace('"name": "', '"name": "\\ud800').encode()),
            "deeply nested": lambda m: m.update(tests=json.loads("[" * 150 + "]" * 150)),
            "notAfter with an offset": lambda m: m.update(notAfter="2099-01-01T00:00:00+01:00"),
            "notAfter in lowercase": lambda m: m.update(notAfter="2099-01-01t00:00:00z"),
            "notBefore a number": lambda m: m.update(notBefore=0),
        }
        for name, change in cases.items():
            with self.subTest(name):
                with self.assertRaisesRegex(BundleRefused, "manifest"):
                    bundles.verify(self.manifest_bundle(change), self.trust)

    def test_a_section_that_is_not_the_signature_or_not_a_section(self):
        # A byte-order mark makes another name: unsigned, not signed.
        bom = self.unsigned[:8] + custom(b"\xef\xbb\xbfsignature", b"\x01\x01\x01\x00") + self.unsigned[8:]
        with self.assertRaisesRegex(BundleRefused, "unsigned"):
            bundles.verify(bom, self.trust)
        for section in [b"\xff\x00", b"\x0f\x01\x00", custom(b"\xff\xfe", b"")]:
            with self.assertRaisesRegex(BundleRefused, "well-formed"):
                bundles.verify(self.signed(self.unsigned + section), self.trust)

    def test_a_bundle_that_does_not_compile_records_nothing(self):
        # Well-formed sections, signed, but no component inside.
        broken = self.unsigned[:8] + b"\x01" + lp(b"\x00asm\x01\x00\x00\x00\xff") + b"".join(
            self.unsigned[s.start : s.end] for s in bundles.sections(self.unsigned) if s.id == 0
        )
        path = self.dir / "broken.wasm"
        path.write_bytes(self.signed(broken))
        with self.assertRaisesRegex(BundleRefused, "does not (compile|run)"):
            Host.load(path, self.trust_path)
        self.assertFalse(self.trust.state_path.exists(), "a bundle that never ran raised the floor")

    def test_revision_states_the_rust_host_refuses(self):
        path = self.dir / "good.wasm"
        path.write_bytes(self.signed(self.unsigned))
        for text in [
            b'{"highest": {"policies": 1, "policies": 9}}',
            b'{"highest": {"policies": -1}}',
            b'{"highest": []}',
            b'{"highest": {"policies": true}}',
            b'{"highest": {"policies": 1.5}}',
            b'{"highest": {"policies": 18446744073709551616}}',
            b'{"other": {}}',
        ]:
            with self.subTest(text):
                self.trust.state_path.write_bytes(text)
                with self.assertRaises(TrustStoreError):
                    Host.load(path, self.trust_path)

    def test_a_bundle_named_like_an_object_member_keeps_its_floor(self):
        for name in ["__proto__", "constructor", "toString"]:
            with self.subTest(name):
                self.trust.state_path.unlink(missing_ok=True)
                for revision, ok in [(5, True), (3, False)]:
                    path = self.dir / f"{revision}.wasm"
                    path.write_bytes(self.manifest_bundle(lambda m: m.update(name=name, revision=revision)))
                    if ok:
                        Host.load(path, self.trust_path)
                    else:
                        with self.assertRaisesRegex(BundleRefused, "rollback"):
                            Host.load(path, self.trust_path)

    def test_trust_stores_the_rust_host_refuses(self):
        k = bytes(self.key.verify_key).hex()
        spaced = " ".join(k[i : i + 2] for i in range(0, 64, 2))
        for text in [
            f'threshold = 1\n[[keys]]\nid = "a"\npublic_key = "{k}"\nnot_after = 2099-01-01T00:00:00Z\n',
            f'threshold = 1\n[[keys]]\nid = "a"\npublic_key = "{k}"\nnot_after = "2099-01-01T00:00:00+01:00"\n',
            f'threshold = 1.0\n[[keys]]\nid = "a"\npublic_key = "{k}"\n',
            f'threshold = 1\n[[keys]]\nid = "a"\npublic_key = "{spaced}"\n',
            f'threshold = 1\r[[keys]]\nid = "a"\npublic_key = "{k}"\n',
            f'threshold = 1\n[keys]\nid = "a"\npublic_key = "{k}"\n',
        ]:
            with self.subTest(text):
                self.trust_path.write_text(text, newline="")
                with self.assertRaises(TrustStoreError):
                    TrustStore.load(self.trust_path)

    def test_many_bogus_signatures_are_refused(self):
        hashes = bundles.part_hashes(self.unsigned, bundles.sections(self.unsigned))
        entry = lp(lp(b"") + b"\x01" + lp(bytes(64)))
        hash_set = leb(len(hashes)) + b"".join(hashes) + leb(5000) + entry * 5000
        data = b"\x01\x01\x01" + leb(1) + lp(hash_set)
        flooded = self.unsigned[:8] + custom("signature", data) + self.unsigned[8:]
        with self.assertRaises(BundleRefused):
            bundles.verify(flooded, self.trust)

    def test_requests_the_rust_host_refuses_are_denied(self):
        host = Host.load(ENV["BUNDLE"], _own_trust(self.dir), what_if=True)
        text = json.dumps(REQUEST)
        for bad in [
            text.replace('"vendor": "ericsson"', '"vendor": "huawei", "vendor": "ericsson"'),
            text.replace('"sst": 1', '"sst": -0'),
            text.replace('"sst": 1', '"sst": 1.0'),
            text.replace('"sbom": true', '"sbom": true, "components": null'),
            text.replace('"id": "upf-lon-2"', '"id": "upf\\ud800"'),
        ]:
            with self.subTest(bad[:80]):
                try:
                    request = strict.loads(bad.encode())
                except ValueError:
                    continue  # refused while reading, as the Rust host refuses it
                self.assertFalse(host.decide(request).allowed)


def _own_trust(folder: Path) -> Path:
    text = Path(ENV["TRUST"]).read_text()
    path = folder / "own-trust.toml"
    path.write_text("\n".join(l for l in text.splitlines() if not l.startswith("state")) + "\n")
    return path


if __name__ == "__main__":
    unittest.main()
