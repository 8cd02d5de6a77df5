"""Regression tests for the security findings D1-D27 (/work/shared/security-findings.md), black-box.

A package (this file) so that module names such as test_gc do not clash with tests/gc/test_gc.py.
"""
