'use strict';
// Heartbeats and "stream stalled", against a stand-in PubSubService (no sidecar):
// it confirms with a 100 ms heartbeat interval, sends heartbeats while asked,
// then falls silent the way a frozen sidecar does (connection open, no bytes).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const { CacheCar, StreamStalled, v1 } = require('..');

async function standIn(heartbeats) {
  const server = new grpc.Server();
  const seen = {};
  server.addService(v1.PubSubService.service, {
    Subscribe(call) {
      seen.heartbeats = call.request.heartbeats;
      call.write({ subscribed: { channels: ['news'], heartbeatInterval: { seconds: 0, nanos: 100e6 } } });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent === heartbeats) return clearInterval(timer); // frozen from here on
        sent += 1;
        call.write(sent === 2 ? { message: { channel: 'news', payload: Buffer.from('hi') } } : { heartbeat: {} });
      }, 100);
      call.on('cancelled', () => clearInterval(timer));
    },
    Publish(_call, cb) {
      cb({ code: grpc.status.UNIMPLEMENTED });
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { server, target: `127.0.0.1:${port}`, seen };
}

test('heartbeats are consumed; silence for two intervals throws StreamStalled', async () => {
  const { server, target, seen } = await standIn(5);
  const cc = new CacheCar(target);
  try {
    const sub = cc.subscribe('events', ['news']);
    await sub.ready();
    assert.equal(seen.heartbeats, true);
    assert.equal(sub.stallAfterMs, 200);
    const got = [];
    await assert.rejects(
      (async () => {
        for await (const event of sub) got.push(event.type);
      })(),
      (err) => err instanceof StreamStalled && err.reason === 'STREAM_STALLED',
    );
    assert.deepEqual(got, ['message']); // heartbeats never reach the app
  } finally {
    cc.close();
    server.forceShutdown();
  }
});
