"""Approvals: every mutating operation is requested, approved by someone else, and run once."""

from circuitbot.approvals.engine import ApprovalEngine

__all__ = ["ApprovalEngine"]
