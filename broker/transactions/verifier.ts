/**
 * The port through which a partition leader checks a transactional batch
 * before appending it (KIP-890 part 1): when the producer has no ongoing
 * transaction on the partition, the leader asks the transaction coordinator
 * whether the partition was added to the producer's transaction
 * (AddPartitionsToTxn v4 with `verifyOnly`). This closes the hazards Jepsen
 * found in the original protocol (a produce delayed past EndTxn and its
 * markers starting a transaction nobody will end).
 *
 * The coordinator implements it; with none set (`BrokerCore.txnVerifier`
 * undefined) transactional batches are refused.
 *
 * @module
 */

/** What the leader asks: was `topic`-`partition` added to this producer's ongoing transaction? */
export interface TxnVerifyRequest {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly topic: string;
  readonly partition: number;
}

/** See the module doc. */
export interface TxnVerifier {
  /**
   * Resolves with a Kafka error code: NONE (0) when the partition is part of the producer's
   * ongoing transaction at that epoch; otherwise the error the produce answers (Kafka's leader
   * answers INVALID_TXN_STATE; PRODUCER_FENCED / INVALID_PRODUCER_EPOCH for an old epoch,
   * NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / CONCURRENT_TRANSACTIONS as AddPartitionsToTxn
   * would). Never rejects.
   */
  verify(request: TxnVerifyRequest): Promise<number>;
}
