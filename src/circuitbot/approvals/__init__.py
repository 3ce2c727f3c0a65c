"""Approvals: every mutating operation is requested, approved by someone else, and run once.

The engine is ``approvals.engine.ApprovalEngine``; it is not imported here, so that the store's
tables may use ``approvals.status`` without importing the engine (which imports the tables).
"""
