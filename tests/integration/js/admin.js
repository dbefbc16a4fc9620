// kafkajs admin client: node admin.js BROKER TOPIC PARTITIONS GROUP
// createTopics (TOPIC with PARTITIONS, then again, which must report false), fetchTopicMetadata
// and describeGroups([GROUP]); prints one JSON line with each result.
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic, partitions, groupId] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'sluice-kafkajs-admin', brokers: [broker],
                            logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: Number(partitions), replicationFactor: 1,
               configEntries: [{ name: 'retention.ms', value: '86400000' }] }],
  });
  const createdAgain = await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const topics = await admin.listTopics();
  const groups = await admin.describeGroups([groupId]);
  await admin.disconnect();
  console.log(JSON.stringify({ created, createdAgain, metadata, topics, groups }));
}

main().catch((e) => { console.error(e); process.exit(1); });
