// e2e tests
