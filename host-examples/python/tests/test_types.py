"""The dataclasses against the WIT as the component itself declares it: every
record's fields (names, optional or not) and every enum's cases, so the
Python types cannot drift from the component they call."""

from __future__ import annotations

import dataclasses
import os
import typing
import unittest

import wasmtime
from wasmtime import component as wc

from slicegate_host import types as t

BUNDLE = os.environ.get("SLICEGATE_TEST_BUNDLE")


def _wit_fields(record: wc.RecordType) -> dict:
    return dict(record.fields)


@unittest.skipUnless(BUNDLE, "run by scripts/cross-host.sh, which builds a bundle")
class TypesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        engine = wasmtime.Engine()
        component = wc.Component.from_file(engine, BUNDLE)
        exports = component.type.exports(engine)
        placement = exports["slicegate:policy/placement@0.1.0"].ty.exports(engine)
        authorizer = exports["slicegate:policy/authorizer@0.1.0"].ty.exports(engine)
        cls.decide = dict(placement["decide"].ty.params)["request"]
        cls.plan = dict(placement["check-plan"].ty.params)["plan"]
        cls.authorize = dict(authorizer["authorize"].ty.params)["request"]

    def check(self, cls, wit):
        self.assertIsInstance(wit, wc.RecordType, cls.__name__)
        fields = _wit_fields(wit)
        hints = typing.get_type_hints(cls)
        ours = {f.name.replace("_", "-"): f for f in dataclasses.fields(cls)}
        self.assertEqual(sorted(ours), sorted(fields), f"{cls.__name__}: fields differ from the WIT record")
        for name, ty in fields.items():
            hint = hints[ours[name].name]
            optional = typing.get_origin(hint) is typing.Union
            if name == "at":
                # The host fills the evaluation time (its clock, or a
                # permitted what-if time): optional here, a string in the WIT.
                self.assertTrue(optional and isinstance(ty, wc.String), f"{cls.__name__}.at")
                continue
            self.assertEqual(optional, isinstance(ty, wc.OptionType), f"{cls.__name__}.{name}: option or not")
            inner = [a for a in typing.get_args(hint) if a is not type(None)][0] if optional else hint
            ty = ty.payload if optional else ty
            if isinstance(ty, wc.RecordType):
                self.check(inner, ty)
            elif isinstance(ty, wc.EnumType):
                self.assertEqual(sorted(typing.get_args(inner)), sorted(ty.names), f"{cls.__name__}.{name}: enum cases")
            elif isinstance(ty, wc.ListType) and isinstance(ty.element, wc.RecordType):
                self.check(typing.get_args(inner)[0], ty.element)

    def test_requests_match_the_wit(self):
        self.check(t.PlacementRequest, self.decide)
        self.check(t.DeploymentPlan, self.plan)
        self.check(t.CedarRequest, self.authorize)


if __name__ == "__main__":
    unittest.main()
