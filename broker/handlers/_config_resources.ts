/**
 * Kafka's config resource types (`ConfigResource.Type`), as DescribeConfigs,
 * AlterConfigs and IncrementalAlterConfigs number them.
 *
 * @module
 */

/** A topic's configs. */
export const RESOURCE_TOPIC = 2;
/** A broker's configs (`resourceName` is the node id, or "" for the cluster-wide default). */
export const RESOURCE_BROKER = 4;
/** A broker's loggers and their levels (`kafka-configs.sh --entity-type broker-loggers`). */
export const RESOURCE_BROKER_LOGGER = 8;
