// @kafkajs/confluent-schema-registry decoding Confluent wire-format values:
//   node avro_decode.js REGISTRY_URL FILE
// FILE holds one hex-encoded value per line. Each is decoded by the client (which fetches the
// writer schema by id from the registry); prints one JSON line per value: the decoded record.
const fs = require('fs');
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry');

async function main() {
  const [url, file] = process.argv.slice(2);
  const registry = new SchemaRegistry({ host: url });
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length);
  const out = [];
  for (const hex of lines) out.push(JSON.stringify(await registry.decode(Buffer.from(hex, 'hex'))));
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
