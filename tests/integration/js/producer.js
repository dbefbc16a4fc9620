// kafkajs producer: node producer.js BROKER TOPIC COUNT [gzip]
// Sends COUNT keyed messages "value-I" with acks=-1 in batches and prints one JSON line:
// {"offsets": [[partition, baseOffset, count], ...]}.
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic, countArg, codec] = process.argv.slice(2);
  const count = Number(countArg);
  const kafka = new Kafka({ clientId: 'sluice-kafkajs-producer', brokers: [broker],
                            logLevel: logLevel.WARN });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const offsets = [];
  const batch = 250;
  for (let i = 0; i < count; i += batch) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + batch); j++)
      messages.push({ key: `k${j % 13}`, value: `value-${j}` });
    const res = await producer.send({
      topic, acks: -1, messages,
      compression: codec === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    });
    for (const r of res) {
      if (r.errorCode !== 0) throw new Error(`produce error ${r.errorCode} on ${r.partition}`);
      offsets.push([r.partition, Number(r.baseOffset)]);
    }
  }
  await producer.disconnect();
  console.log(JSON.stringify({ offsets }));
}

main().catch((e) => { console.error(e); process.exit(1); });
