-- DropIndex
DROP INDEX "risk_scores_event_time_idx";
