"""The ugc policy pack: `pulumi preview --policy-pack policy` checks the stack's invariants."""

from pack import POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name="ugc-invariants", policies=POLICIES)
