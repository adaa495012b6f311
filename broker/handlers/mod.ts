/**
 * Every API handler the broker serves, one file per API key.
 *
 * @module
 */
import type { ApiHandler } from "../context.ts";
import { createTopicsHandler } from "./create_topics.ts";
import { deleteGroupsHandler } from "./delete_groups.ts";
import { describeGroupsHandler } from "./describe_groups.ts";
import { heartbeatHandler } from "./heartbeat.ts";
import { joinGroupHandler } from "./join_group.ts";
import { leaveGroupHandler } from "./leave_group.ts";
import { listGroupsHandler } from "./list_groups.ts";
import { offsetCommitHandler } from "./offset_commit.ts";
import { offsetDeleteHandler } from "./offset_delete.ts";
import { offsetFetchHandler } from "./offset_fetch.ts";
import { syncGroupHandler } from "./sync_group.ts";
import { deleteTopicsHandler } from "./delete_topics.ts";
import { describeConfigsHandler } from "./describe_configs.ts";
import { fetchHandler } from "./fetch.ts";
import { findCoordinatorHandler } from "./find_coordinator.ts";
import { initProducerIdHandler } from "./init_producer_id.ts";
import { listOffsetsHandler } from "./list_offsets.ts";
import { metadataHandler } from "./metadata.ts";
import { produceHandler } from "./produce.ts";
import { deleteRecordsHandler } from "./delete_records.ts";
import { alterConfigsHandler } from "./alter_configs.ts";
import { incrementalAlterConfigsHandler } from "./incremental_alter_configs.ts";
import { describeClientQuotasHandler } from "./describe_client_quotas.ts";
import { alterClientQuotasHandler } from "./alter_client_quotas.ts";
import { createPartitionsHandler } from "./create_partitions.ts";
import { describeLogDirsHandler } from "./describe_log_dirs.ts";
import { describeClusterHandler } from "./describe_cluster.ts";
import { electLeadersHandler } from "./elect_leaders.ts";
import { alterPartitionReassignmentsHandler } from "./alter_partition_reassignments.ts";
import { listPartitionReassignmentsHandler } from "./list_partition_reassignments.ts";
import { describeProducersHandler } from "./describe_producers.ts";
import { addPartitionsToTxnHandler } from "./add_partitions_to_txn.ts";
import { addOffsetsToTxnHandler } from "./add_offsets_to_txn.ts";
import { endTxnHandler } from "./end_txn.ts";
import { txnOffsetCommitHandler } from "./txn_offset_commit.ts";
import { offsetForLeaderEpochHandler } from "./offset_for_leader_epoch.ts";
import { writeTxnMarkersHandler } from "./write_txn_markers.ts";
import { describeTransactionsHandler } from "./describe_transactions.ts";
import { listTransactionsHandler } from "./list_transactions.ts";
import { describeAclsHandler } from "./describe_acls.ts";
import { createAclsHandler } from "./create_acls.ts";
import { deleteAclsHandler } from "./delete_acls.ts";
import { describeUserScramCredentialsHandler } from "./describe_user_scram_credentials.ts";
import { alterUserScramCredentialsHandler } from "./alter_user_scram_credentials.ts";
import { saslHandshakeHandler } from "./sasl_handshake.ts";
import { saslAuthenticateHandler } from "./sasl_authenticate.ts";

/** Handlers other than ApiVersions (which the router builds over this list). */
export const apiHandlers: readonly ApiHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  syncGroupHandler,
  describeGroupsHandler,
  listGroupsHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  deleteGroupsHandler,
  offsetDeleteHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  initProducerIdHandler,
  describeConfigsHandler,
  deleteRecordsHandler,
  alterConfigsHandler,
  incrementalAlterConfigsHandler,
  describeClientQuotasHandler,
  alterClientQuotasHandler,
  createPartitionsHandler,
  describeLogDirsHandler,
  describeClusterHandler,
  electLeadersHandler,
  alterPartitionReassignmentsHandler,
  listPartitionReassignmentsHandler,
  describeProducersHandler,
  addPartitionsToTxnHandler,
  addOffsetsToTxnHandler,
  endTxnHandler,
  txnOffsetCommitHandler,
  offsetForLeaderEpochHandler,
  writeTxnMarkersHandler,
  describeTransactionsHandler,
  listTransactionsHandler,
  describeAclsHandler,
  createAclsHandler,
  deleteAclsHandler,
  describeUserScramCredentialsHandler,
  alterUserScramCredentialsHandler,
  saslHandshakeHandler,
  saslAuthenticateHandler,
];
