// Validates Strimzi, CloudNativePG and KEDA objects (JSON on stdin) against those operators' CRD schemas, as
// compiled into the @kubernetes-models packages from npm (installed at test time by test_deploy.py).
import { Kafka, KafkaNodePool, KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1";
import { Cluster } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";

const kinds = { Kafka, KafkaNodePool, KafkaTopic, Cluster, ScaledObject, TriggerAuthentication };
let text = "";
for await (const chunk of process.stdin) text += chunk;
const problems = [];
let checked = 0;
for (const obj of JSON.parse(text)) {
  const Model = kinds[obj.kind];
  if (!Model) { problems.push(`${obj.kind}: no schema`); continue; }
  try { new Model(obj).validate(); checked += 1; } catch (e) {
    problems.push(`${obj.kind}/${obj.metadata.name}: ${e.message} ${JSON.stringify(e.errors ?? [])}`);
  }
}
console.log(JSON.stringify({ checked, problems }));
process.exit(problems.length ? 1 : 0);
