/**
 * Which Kafka APIs the generator emits. Add an API by appending its spec name
 * (the JSON file name without `Request.json` / `Response.json`).
 *
 * @module
 */

/** Client-facing APIs, by the spec's message name prefix (apiKey in comments). */
export const GENERATED_APIS: readonly string[] = [
  "Produce", // 0
  "Fetch", // 1
  "ListOffsets", // 2
  "Metadata", // 3
  "OffsetCommit", // 8
  "OffsetFetch", // 9
  "FindCoordinator", // 10
  "JoinGroup", // 11
  "Heartbeat", // 12
  "LeaveGroup", // 13
  "SyncGroup", // 14
  "DescribeGroups", // 15
  "ListGroups", // 16
  "SaslHandshake", // 17
  "ApiVersions", // 18
  "CreateTopics", // 19
  "DeleteTopics", // 20
  "DeleteRecords", // 21
  "InitProducerId", // 22
  "OffsetForLeaderEpoch", // 23
  "AddPartitionsToTxn", // 24
  "AddOffsetsToTxn", // 25
  "EndTxn", // 26
  "WriteTxnMarkers", // 27
  "TxnOffsetCommit", // 28
  "DescribeAcls", // 29
  "CreateAcls", // 30
  "DeleteAcls", // 31
  "DescribeConfigs", // 32
  "AlterConfigs", // 33
  "DescribeLogDirs", // 35
  "SaslAuthenticate", // 36
  "CreatePartitions", // 37
  "DeleteGroups", // 42
  "ElectLeaders", // 43
  "IncrementalAlterConfigs", // 44
  "AlterPartitionReassignments", // 45
  "ListPartitionReassignments", // 46
  "OffsetDelete", // 47
  "DescribeClientQuotas", // 48
  "AlterClientQuotas", // 49
  "DescribeUserScramCredentials", // 50
  "AlterUserScramCredentials", // 51
  "DescribeCluster", // 60
  "DescribeProducers", // 61
  "DescribeTransactions", // 65
  "ListTransactions", // 66
  "DescribeTopicPartitions", // 75
];

/** Header specs emitted alongside the APIs. */
export const GENERATED_HEADERS: readonly string[] = ["RequestHeader", "ResponseHeader"];
