// node cql_batch.js HOST:PORT KEYSPACE
// Batches with prepare: true: logged across two tables, unlogged, counter, with a client
// timestamp, conditional (IF NOT EXISTS), and one with an invalid statement that must apply
// nothing. Prints one JSON line with what was read back.
const { cassandra, main, failure } = require('./cql_common');

const [addr, ks] = process.argv.slice(2);

main(addr, async (client) => {
  await client.execute(`CREATE KEYSPACE ${ks} WITH replication = ` +
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}");
  await client.execute(`CREATE TABLE ${ks}.b1 (k int PRIMARY KEY, v text)`);
  await client.execute(`CREATE TABLE ${ks}.b2 (k int, c int, v text, PRIMARY KEY (k, c))`);
  await client.execute(`CREATE TABLE ${ks}.cnt (k int PRIMARY KEY, n counter)`);
  const i1 = `INSERT INTO ${ks}.b1 (k, v) VALUES (?, ?)`;
  const i2 = `INSERT INTO ${ks}.b2 (k, c, v) VALUES (?, ?, ?)`;

  const logged = [];
  for (let i = 0; i < 10; i++) {
    logged.push({ query: i1, params: [i, `one-${i}`] });
    logged.push({ query: i2, params: [i % 2, i, `two-${i}`] });
  }
  await client.batch(logged, { prepare: true });

  const unlogged = [];
  for (let i = 10; i < 20; i++) unlogged.push({ query: i1, params: [i, `un-${i}`] });
  unlogged.push(`UPDATE ${ks}.b1 SET v = 'changed' WHERE k = 0`);
  await client.batch(unlogged, { prepare: true, logged: false });

  const inc = `UPDATE ${ks}.cnt SET n = n + ? WHERE k = ?`;
  await client.batch([{ query: inc, params: [cassandra.types.Long.fromNumber(5), 1] },
                      { query: inc, params: [cassandra.types.Long.fromNumber(-2), 1] },
                      { query: inc, params: [cassandra.types.Long.fromNumber(7), 2] }],
                     { prepare: true, counter: true });

  await client.batch([{ query: i1, params: [100, 'stamped'] }],
                     { prepare: true, timestamp: cassandra.types.Long.fromNumber(1234567) });

  const ifne = `INSERT INTO ${ks}.b2 (k, c, v) VALUES (?, ?, ?) IF NOT EXISTS`;
  const cas1 = await client.batch([{ query: ifne, params: [7, 1, 'first'] },
                                   { query: ifne, params: [7, 2, 'first'] }], { prepare: true });
  const cas2 = await client.batch([{ query: ifne, params: [7, 1, 'second'] },
                                   { query: ifne, params: [7, 3, 'second'] }], { prepare: true });

  const bad = await failure(client.batch([{ query: i1, params: [200, 'never'] },
                                          `INSERT INTO ${ks}.nosuch (k) VALUES (1)`],
                                         { prepare: false }));

  const b1 = {};
  for (const r of (await client.execute(`SELECT k, v FROM ${ks}.b1`, [], { fetchSize: 1000 })).rows) {
    b1[r.k] = r.v;
  }
  const b2 = (await client.execute(`SELECT k, c, v FROM ${ks}.b2`)).rows.map((r) => [r.k, r.c, r.v]);
  const cnt = {};
  for (const r of (await client.execute(`SELECT k, n FROM ${ks}.cnt`)).rows) {
    cnt[r.k] = r.n.toString();
  }
  const wt = (await client.execute(`SELECT WRITETIME(v) AS w FROM ${ks}.b1 WHERE k = 100`))
    .first().w.toString();
  return { b1, b2, cnt, wt, cas1: cas1.wasApplied(), cas2: cas2.wasApplied(), bad };
});
