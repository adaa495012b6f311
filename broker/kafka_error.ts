/**
 * A client's mistake or a refused operation, carrying the Kafka error code
 * that goes into the response. Handlers catch it at their boundary; it never
 * crosses a connection.
 *
 * @module
 */
export class KafkaError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = "KafkaError";
    this.code = code;
  }
}
