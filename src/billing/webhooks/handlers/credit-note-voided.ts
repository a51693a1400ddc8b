import { removeCreditNoteLines } from '../../invoice-lines';
import { creditNoteHandler } from './credit-notes';

/** A credit note was voided: what it took back counts again (its lines, recorded or not yet, are removed). */
export const creditNoteVoided = creditNoteHandler('credit_note.voided', 7, async ({ tx }, note) =>
  removeCreditNoteLines(
    tx,
    note.lines.map((line) => line.id),
  ),
);
