"""Test doubles shared by the tests and the benchmarks: a Slack Web API emulator on 127.0.0.1, Slack request
signing, a TCP proxy. Imports nothing of pytest, so a benchmark runs with only the project installed.
"""
