"""Helpers the tests share (no tests here): loopback servers, tokens, the browser, the
functions' calls, the CLI runner, the policy states."""
