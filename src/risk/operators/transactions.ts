import { decodeTransaction } from '../contract';
import type { AvroTransactionReader } from '../avro';
import type { Transaction } from '../model/types';
import type { KeyedOperator, OperatorInput, OperatorView } from '../pipeline/keyed';
import type { RawMessage } from '../pipeline/processor';

/** How the operators on `transactions` read it: the risk pipeline's contract, DLQ reasons and Avro included. */
export interface TransactionSource {
  maxEventBytes: number;
  avro?: AvroTransactionReader;
}

/** The decoding half of an operator on `transactions`, keyed by customer as the topic is. */
export function transactionInput(source: TransactionSource): Pick<KeyedOperator<unknown, Transaction, OperatorView>, 'prepare' | 'decode'> {
  return {
    prepare: source.avro ? (messages: RawMessage[], from: number) => source.avro!.prepare(messages, from) : undefined,
    decode(message: RawMessage): OperatorInput<Transaction> {
      const decoded = decodeTransaction(message.value, message.key, source.maxEventBytes, source.avro);
      return decoded.ok ? { ok: true, key: decoded.tx.customerId, event: decoded.tx } : decoded;
    },
  };
}
