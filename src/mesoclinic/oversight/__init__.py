"""The auditor's and privacy officer's pages over the audit trail (the trail itself is `audit`)."""
