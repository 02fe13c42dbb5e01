"""The Python host on a real signed bundle: what it must refuse before
compiling anything, and what it must deny. Run by scripts/cross-host.sh,
which builds and signs the bundle with the Rust CLI and sets:

    SLICEGATE_TEST_BUNDLE    a bundle signed (embedded) by the key below
    SLICEGATE_TEST_UNSIGNED  the same build, unsigned
    SLICEGATE_TEST_TRUST     a trust store holding that key (threshold 1)
    SLICEGATE_TEST_KEY       that key pair file (0x81 || secret || public)
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import threading
import shutil
import tempfile
import unittest
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nacl.signing

from slicegate_host import BundleRefused, DeploymentPlan, Host, PlacementRequest, TrustStore, TrustStoreError
from slicegate_host import bundle as bundles

ENV = {k: os.environ.get(f"SLICEGATE_TEST_{k}") for k in ("BUNDLE", "UNSIGNED", "TRUST", "KEY")}
HAVE = all(ENV.values())

REQUEST = {
    "operation": "place",
    "equipment": {
        "id": "upf-lon-2",
        "vendor": "ericsson",
        "model": "ericsson-upf",
        "softwareVersion": "24.1",
        "softwareSigned": True,
        "sbom": True,
        "subsidyFunded": False,
    },
    "slice": {"id": "embb-consumer", "sst": 1, "category": "consumer", "usFederal": False},
    "site": {"id": "gb-lon-core-1", "country": "GB", "sensitive": False},
    "network": "gb-example-mobile",
    "at": "2026-06-01T00:00:00Z",
}
HUAWEI_CORE = copy.deepcopy(REQUEST)
HUAWEI_CORE["operation"] = "operate"
HUAWEI_CORE["equipment"].update(vendor="huawei", model="huawei-upf-x")


def leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def lp(data: bytes) -> bytes:
    return leb(len(data)) + data


def sign(unsigned: bytes, signers: list[tuple[str, nacl.signing.SigningKey]]) -> bytes:
    """`unsigned` with a signature section by `signers` (a second encoder,
    written from the layout, to test the verifier against)."""
    hashes = bundles.part_hashes(unsigned, bundles.sections(unsigned))
    msg = b"wasmsig\x01\x01\x01" + b"".join(hashes)
    entries = b"".join(lp(lp(kid.encode()) + b"\x01" + lp(key.sign(msg).signature)) for kid, key in signers)
    hash_set = leb(len(hashes)) + b"".join(hashes) + leb(len(signers)) + entries
    data = b"\x01\x01\x01" + leb(1) + lp(hash_set)
    payload = lp(b"signature") + data
    return unsigned[:8] + b"\x00" + lp(payload) + unsigned[8:]


@unittest.skipUnless(HAVE, "run by scripts/cross-host.sh, which builds and signs a bundle")
class HostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.signed = Path(ENV["BUNDLE"]).read_bytes()
        cls.unsigned = Path(ENV["UNSIGNED"]).read_bytes()
        cls.host = Host.load(ENV["BUNDLE"], _trust_copy(ENV["TRUST"]), what_if=True)

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir)

    def store(self, keys: list[tuple[str, bytes]], threshold: int = 1, extra: str = "") -> TrustStore:
        lines = [extra, f"threshold = {threshold}", 'state = "state.json"']
        for kid, public in keys:
            lines += ["[[keys]]", f'id = "{kid}"', f'public_key = "{public.hex()}"']
        path = self.dir / "trust.toml"
        path.write_text("\n".join(lines) + "\n")
        return TrustStore.load(path)

    # ----------------------------------------------------------- refusals

    def test_every_flipped_byte_of_the_content_is_refused(self):
        trust = TrustStore.load(_trust_copy(ENV["TRUST"]))
        sig_end = bundles.sections(self.signed)[0].end
        for offset in [sig_end + 1, sig_end + 100, len(self.signed) // 2, len(self.signed) - 1]:
            tampered = bytearray(self.signed)
            tampered[offset] ^= 0x01
            with self.assertRaises(BundleRefused, msg=f"byte {offset}"):
                bundles.verify(bytes(tampered), trust)

    def test_a_tampered_bundle_is_refused_before_it_is_compiled(self):
        tampered = bytearray(self.signed)
        tampered[len(tampered) // 2] ^= 0x40
        path = self.dir / "tampered.wasm"
        path.write_bytes(tampered)
        with self.assertRaisesRegex(BundleRefused, "changed after it was signed"):
            Host.load(path, _trust_copy(ENV["TRUST"]))

    def test_unsigned_unknown_key_and_too_few_signers_are_refused(self):
        a, b = nacl.signing.SigningKey.generate(), nacl.signing.SigningKey.generate()
        trust = self.store([("a", bytes(a.verify_key)), ("b", bytes(b.verify_key))], threshold=2)
        with self.assertRaisesRegex(BundleRefused, "unsigned"):
            bundles.verify(self.unsigned, trust)
        with self.assertRaisesRegex(BundleRefused, "requires 2"):
            bundles.verify(sign(self.unsigned, [("a", a)]), trust)
        with self.assertRaisesRegex(BundleRefused, "not from a key in the trust store|no signature is from"):
            bundles.verify(sign(self.unsigned, [("c", nacl.signing.SigningKey.generate())]), trust)
        # One key under a second id counts once.
        with self.assertRaisesRegex(BundleRefused, "does not verify|requires 2"):
            bundles.verify(sign(self.unsigned, [("a", a), ("b", a)]), trust)
        accepted = bundles.verify(sign(self.unsigned, [("a", a), ("b", b)]), trust)
        self.assertEqual(accepted.signers, ("a", "b"))
        self.assertEqual(accepted.sha256, bundles.verify(self.signed, TrustStore.load(_trust_copy(ENV["TRUST"]))).sha256)

    def test_a_detached_signature_is_read_beside_the_bundle(self):
        a = nacl.signing.SigningKey.generate()
        trust_path = self.dir / "t.toml"
        trust_path.write_text(f'threshold = 1\n[[keys]]\nid = "a"\npublic_key = "{bytes(a.verify_key).hex()}"\n')
        signed = sign(self.unsigned, [("a", a)])
        sig_section = bundles.sections(signed)[0]
        (self.dir / "b.wasm").write_bytes(self.unsigned)
        (self.dir / "b.wasm.sig").write_bytes(signed[sig_section.data_start : sig_section.end])
        host = Host.load(self.dir / "b.wasm", trust_path)
        self.assertEqual(host.bundle.signers, ("a",))

    def test_key_and_bundle_windows(self):
        trust = TrustStore.load(_trust_copy(ENV["TRUST"]))
        later = datetime.now(timezone.utc) + timedelta(days=1)
        trust.keys[0].not_before = later
        with self.assertRaisesRegex(BundleRefused, "not yet valid"):
            bundles.verify(self.signed, trust)
        trust.keys[0].not_before = None
        trust.keys[0].not_after = datetime.now(timezone.utc) - timedelta(days=1)
        with self.assertRaisesRegex(BundleRefused, "expired"):
            bundles.verify(self.signed, trust)
        # A key expiring while the bundle serves: every decision after is a deny.
        trust.keys[0].not_after = later
        verified = bundles.verify(self.signed, trust)
        self.assertEqual(verified.not_after, later)
        self.assertIsNotNone(verified.out_of_window(later + timedelta(seconds=1)))

    def test_a_served_bundle_past_its_window_denies_everything(self):
        # The signing key expires a day from now; the host's clock is moved.
        key_end = datetime.now(timezone.utc) + timedelta(days=1)
        text = Path(_trust_copy(ENV["TRUST"])).read_text().rstrip("\n")
        trust_path = self.dir / "expiring.toml"
        trust_path.write_text(text + f'\nnot_after = "{key_end.strftime("%Y-%m-%dT%H:%M:%SZ")}"\n')
        now = [datetime.now(timezone.utc)]
        host = Host.load(ENV["BUNDLE"], trust_path, what_if=True, clock=lambda: now[0])
        self.assertTrue(host.decide(REQUEST).allowed)
        now[0] = host.bundle.not_after + timedelta(microseconds=1)
        decision = host.decide(REQUEST)
        self.assertFalse(decision.allowed)
        self.assertEqual(decision.failure.kind, "bundle-expired")
        self.assertFalse(host.check_plan(_plan()).allowed)
        self.assertFalse(any(d.allowed for d in host.decide_batch([REQUEST, REQUEST])))
        self.assertFalse(host.authorize({"principal": {"typeName": "X", "id": "a"}, "action": {"typeName": "X", "id": "a"}, "resource": {"typeName": "X", "id": "a"}}).allowed)
        with self.assertRaises(dataclasses.FrozenInstanceError):
            host.bundle.not_after = None  # type: ignore[misc]

    def test_only_what_verify_returned_runs(self):
        verified = bundles.verify(self.signed, TrustStore.load(_trust_copy(ENV["TRUST"])))
        forged = dataclasses.replace(verified, data=self.unsigned)
        with self.assertRaises(TypeError):
            Host(forged)
        with self.assertRaises(TypeError):
            Host(bundles.VerifiedBundle(self.unsigned, "", {}, ()))

    def test_one_host_shared_by_threads_decides_one_call_at_a_time(self):
        answers = []

        def work():
            for _ in range(40):
                answers.append(self.host.decide(REQUEST).allowed)
                answers.append(self.host.decide(HUAWEI_CORE).allowed)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(answers.count(True), 160)
        self.assertEqual(answers.count(False), 160)

    def test_subclasses_and_self_references_are_refused_not_sent(self):
        class Lying(int):
            def __le__(self, other):
                return True

            def __ge__(self, other):
                return True

        class Shifty(str):
            def encode(self, *a, **k):
                return b"defense"

        request = PlacementRequest.from_json(HUAWEI_CORE)
        request.slice.sst = Lying(257)
        self.assertEqual(self.host.decide(request).failure.kind, "invalid-request")
        request = PlacementRequest.from_json(REQUEST)
        request.slice.category = Shifty("consumer")
        self.assertEqual(self.host.decide(request).failure.kind, "invalid-request")
        request = PlacementRequest.from_json(REQUEST)
        request.equipment.components = [request]  # refers to itself
        answers = self.host.decide_batch([REQUEST, request, {1: "x", "y": 2}])
        self.assertEqual([a.allowed for a in answers], [True, False, False])
        self.assertEqual({a.failure.kind for a in answers[1:]}, {"invalid-request"})

    def test_a_rollback_is_refused_and_the_revision_recorded(self):
        trust_path = _trust_copy(ENV["TRUST"])
        trust = TrustStore.load(trust_path)
        name = bundles.verify(self.signed, trust).name
        trust.state_path.write_text(json.dumps({"highest": {name: 99}}))
        with self.assertRaisesRegex(BundleRefused, "rollback"):
            Host.load(ENV["BUNDLE"], trust_path)
        trust.state_path.unlink()
        Host.load(ENV["BUNDLE"], trust_path)
        self.assertEqual(json.loads(trust.state_path.read_text())["highest"][name], bundles.verify(self.signed, trust).revision)
        trust.state_path.write_text("{not json")
        with self.assertRaises(TrustStoreError):
            Host.load(ENV["BUNDLE"], trust_path)

    def test_trust_stores_that_must_not_load(self):
        weak = bytes(32)  # an all-zero placeholder: small order
        one = (1).to_bytes(32, "little")  # the identity
        k = bytes(nacl.signing.SigningKey.generate().verify_key)
        for keys, threshold, why in [
            ([("z", weak)], 1, "usable"),
            ([("i", one)], 1, "usable"),
            ([("a", k), ("b", k)], 1, "same public key"),
            ([("a", k)], 0, "at least 1"),
            ([("a", k)], 2, "more than"),
        ]:
            with self.assertRaisesRegex(TrustStoreError, why):
                self.store(keys, threshold)
        with self.assertRaisesRegex(TrustStoreError, "unknown"):
            self.store([("a", k)], 1, extra="thresold = 1\n")

    def test_malformed_bundles_are_refused_with_a_reason(self):
        trust = TrustStore.load(_trust_copy(ENV["TRUST"]))
        for bad in [b"", b"\x00asm\x01\x00\x00\x00", self.signed[:100], self.signed[:-1], b"\x00asm\x0d\x00\x01\x00\x00\xff\xff\xff\xff\x7f"]:
            with self.assertRaises(BundleRefused):
                bundles.verify(bad, trust)

    # ---------------------------------------------------------- decisions

    def test_decisions_and_their_reasons(self):
        allowed = self.host.decide(REQUEST)
        self.assertTrue(allowed.allowed, allowed)
        self.assertEqual(allowed.determining_ids(), ["baseline/known-vendor"])
        self.assertEqual(allowed.evaluated_at, ("what-if", REQUEST["at"]))
        denied = self.host.decide(PlacementRequest.from_json(HUAWEI_CORE))
        self.assertFalse(denied.allowed)
        self.assertIn("uk-hrv/out-of-core", denied.determining_ids())

    def test_bad_requests_are_denied_with_the_reason(self):
        table = json.loads((Path(__file__).resolve().parents[2] / "strictness.json").read_text())
        for path, value in table["badRequestFields"]:
            bad = copy.deepcopy(REQUEST)
            target = bad
            for key in path[:-1]:
                target = target[key]
            if value == "<delete>":
                del target[path[-1]]
            else:
                target[path[-1]] = value
            decision = self.host.decide(bad)
            self.assertFalse(decision.allowed, bad)
            self.assertIsNotNone(decision.failure, bad)
        self.assertEqual(self.host.decide("not an object").failure.kind, "invalid-request")

    def test_typed_values_are_checked_like_json(self):
        plan = DeploymentPlan.from_json(_plan())
        plan.installed[0].weight = 2**32 + 1  # wasmtime-py would keep the low 32 bits
        self.assertFalse(self.host.check_plan(plan).allowed)
        plan.installed[0].weight = -1
        self.assertEqual(self.host.check_plan(plan).failure.kind, "invalid-request")
        request = PlacementRequest.from_json(HUAWEI_CORE)
        request.slice.sst = 257
        self.assertEqual(self.host.decide(request).failure.kind, "invalid-request")
        request = PlacementRequest.from_json(REQUEST)
        request.equipment.software_signed = 1  # not a bool
        self.assertFalse(self.host.decide(request).allowed)
        self.assertTrue(self.host.decide(PlacementRequest.from_json(REQUEST)).allowed)

    def test_a_batch_denies_a_bad_request_alone(self):
        answers = self.host.decide_batch([REQUEST, {"operation": "place"}, HUAWEI_CORE])
        self.assertEqual([a.allowed for a in answers], [True, False, False])
        self.assertEqual(answers[1].failure.kind, "invalid-request")

    def test_time_is_the_hosts_unless_what_if_is_permitted(self):
        strict = Host(self.host.bundle)
        decision = strict.decide(REQUEST)
        self.assertFalse(decision.allowed)
        self.assertIn("what-if evaluation is not permitted", decision.failure.detail)
        without_time = {k: v for k, v in HUAWEI_CORE.items() if k != "at"}
        decision = strict.decide(without_time)
        self.assertEqual(decision.evaluated_at[0], "host-clock")
        self.assertFalse(decision.allowed)  # after the UK core deadline

    def test_a_plan_is_checked_item_by_item(self):
        result = self.host.check_plan(_plan())
        self.assertTrue(result.allowed, result)
        self.assertEqual(len(result.items), 1)
        bad = _plan()
        bad["installed"][0]["weight"] = -1
        self.assertFalse(self.host.check_plan(bad).allowed)
        self.assertFalse(self.host.check_plan(DeploymentPlan.from_json({**_plan(), "metric": "cells", "network": "nowhere"})).allowed)

    def test_the_component_imports_nothing_but_the_seed_and_traps(self):
        # Every import except the seed is a trap: the decisions above ran.
        info = self.host.info()
        self.assertGreater(info["policy-count"], 0)


def _plan():
    item = {k: copy.deepcopy(REQUEST[k]) for k in ("equipment", "slice", "site")}
    item["weight"] = 1
    return {"network": "gb-example-mobile", "metric": "sites", "installed": [item], "changes": [], "at": "2026-06-01T00:00:00Z"}


def _trust_copy(path: str) -> Path:
    """A copy of the trust store with its own state file, so tests do not
    share recorded revisions."""
    folder = Path(tempfile.mkdtemp())
    text = Path(path).read_text()
    lines = [l for l in text.splitlines() if not l.startswith("state")]
    copy_path = folder / "trust.toml"
    copy_path.write_text("\n".join(lines) + "\n")
    return copy_path


if __name__ == "__main__":
    unittest.main()
