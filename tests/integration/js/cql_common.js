// Shared by the cql_*.js scripts: a cassandra-driver (npm) Client for HOST:PORT with
// localDataCenter 'datacenter1' and PlainTextAuthProvider, and a main() wrapper that prints the
// script's result as one JSON line (or the error with its CQL code) and exits.
const cassandra = require('cassandra-driver');

const scale = Number(process.env.SLUICE_TIMEOUT_SCALE || 1);

function client(addr) {
  const i = addr.lastIndexOf(':');
  return new cassandra.Client({
    contactPoints: [addr.slice(0, i)],
    protocolOptions: { port: Number(addr.slice(i + 1)) },
    localDataCenter: 'datacenter1',
    authProvider: new cassandra.auth.PlainTextAuthProvider('cassandra', 'cassandra'),
    socketOptions: { connectTimeout: 10000 * scale, readTimeout: 20000 * scale },
  });
}

// Runs fn(client) on a connected client; prints {ok: true, ...result} or {ok: false, error}.
function main(addr, fn) {
  const c = client(addr);
  (async () => {
    await c.connect();
    return await fn(c);
  })().then(async (out) => {
    await c.shutdown();
    console.log(JSON.stringify(Object.assign({ ok: true }, out)));
    process.exit(0);
  }, async (err) => {
    console.error(err && err.stack ? err.stack : err);
    console.log(JSON.stringify({ ok: false, error: String(err), code: err && err.code }));
    await c.shutdown().catch(() => {});
    process.exit(1);
  });
}

// Awaits promise, which must fail; returns {code, message} of the error.
async function failure(promise) {
  try {
    await promise;
  } catch (err) {
    return { code: err.code, message: err.message, name: err.name };
  }
  throw new Error('expected an error');
}

module.exports = { cassandra, client, main, failure };
