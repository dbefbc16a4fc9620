// node cql_prepared.js HOST:PORT KEYSPACE
// Connects, creates KEYSPACE.t with a column of most types, writes a row with prepare: true
// from JavaScript values and reads it back (prepared and not), runs unprepared queries with
// positional and named parameters, and an invalid prepared query. Prints one JSON line.
const { cassandra, main, failure } = require('./cql_common');
const { types } = cassandra;

const [addr, ks] = process.argv.slice(2);

main(addr, async (client) => {
  const hosts = client.hosts.values();
  const host = { n: hosts.length, datacenter: hosts[0].datacenter, rack: hosts[0].rack,
                 version: hosts[0].cassandraVersion };
  await client.execute(`CREATE KEYSPACE ${ks} WITH replication = ` +
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}");
  await client.execute(`CREATE TABLE ${ks}.t (id uuid PRIMARY KEY, name text, n int, big bigint, ` +
                       'vi varint, dec decimal, d double, f boolean, ts timestamp, dt date, ' +
                       'tm time, ip inet, b blob, l list<int>, s set<text>, m map<text, int>, ' +
                       'tu tuple<int, text>, tid timeuuid, si smallint, ti tinyint, fl float)');
  const id = types.Uuid.random();
  const tid = types.TimeUuid.fromDate(new Date(1700000000123), 42);
  const params = [id, 'Zo\u00eb \u2713', -42, types.Long.fromString('9007199254740993'),
                  types.Integer.fromString('-123456789012345678901234567890'),
                  types.BigDecimal.fromString('12.345'), 2.5, true, new Date(1700000000123),
                  types.LocalDate.fromString('2024-02-29'),
                  types.LocalTime.fromString('13:14:15.123456789'),
                  types.InetAddress.fromString('2001:db8::1'), Buffer.from('deadbeef00', 'hex'),
                  [3, 1, 2], ['b', 'a'], { x: 1, y: 2 }, new types.Tuple(7, 'seven'), tid,
                  -32768, 127, 1.25];
  const cols = 'id, name, n, big, vi, dec, d, f, ts, dt, tm, ip, b, l, s, m, tu, tid, si, ti, fl';
  const ins = `INSERT INTO ${ks}.t (${cols}) VALUES (${params.map(() => '?').join(', ')})`;
  await client.execute(ins, params, { prepare: true });

  const show = (row) => ({
    id: row.id.toString(), name: row.name, n: row.n, big: row.big.toString(),
    vi: row.vi.toString(), dec: row.dec.toString(), d: row.d, f: row.f, ts: row.ts.getTime(),
    dt: row.dt.toString(), tm: row.tm.toString(), ip: row.ip.toString(),
    b: row.b.toString('hex'), l: row.l, s: row.s, m: row.m, tu: row.tu.elements,
    tid: row.tid.toString(), tidDate: row.tid.getDate().getTime(), si: row.si, ti: row.ti,
    fl: row.fl,
  });
  const sel = `SELECT ${cols} FROM ${ks}.t WHERE id = ?`;
  const prepared = show((await client.execute(sel, [id], { prepare: true })).first());
  const unprepared = show((await client.execute(sel, [id])).first());
  // The same prepared statement many times over (the driver caches its id).
  for (let i = 0; i < 50; i++) await client.execute(sel, [id], { prepare: true });

  // Unprepared statements with parameters: QUERY with positional, then named values.
  await client.execute(`CREATE TABLE ${ks}.kv (k text PRIMARY KEY, v text)`);
  await client.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, ['a', 'positional']);
  await client.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (:k, :v)`, { v: 'named', k: 'b' });
  const kv = {};
  for (const k of ['a', 'b']) {
    kv[k] = (await client.execute(`SELECT v FROM ${ks}.kv WHERE k = :k`, { k })).first().v;
  }

  const bad = await failure(client.execute(`SELECT * FROM ${ks}.nosuch WHERE k = ?`, ['a'],
                                           { prepare: true }));
  const after = (await client.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, ['a'],
                                      { prepare: true })).first().v;
  return { host, id: id.toString(), tid: tid.toString(), prepared, unprepared, kv, bad, after };
});
