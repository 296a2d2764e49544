'use strict';
/**
 * Shared setup of the Node.js client tests. They run against a real sidecar
 * that tests/clients/test_node_client.py starts (real Redis and Memcached,
 * the namespaces of tests/clients/conftest.py), whose loader/writer target is
 * CACHECAR_APP_ADDRESS: the test files that need the app serve it there.
 */
const TARGET = process.env.CACHECAR_TARGET;
const APP_ADDRESS = process.env.CACHECAR_APP_ADDRESS;
if (!TARGET || !APP_ADDRESS) {
  throw new Error(
    'CACHECAR_TARGET and CACHECAR_APP_ADDRESS must be set: run these tests through ' +
      '`pytest tests/clients/test_node_client.py` (or `make test-clients`), which starts the sidecar',
  );
}

module.exports = { TARGET, APP_ADDRESS };
