package demo

// Help is the long help of `iamprune demo`: the story Run tells.
const Help = `demo plays the Access Analyzer workshop's scenario against an embedded demo
account (examples/demo). It starts the emulator in-process and talks to it
through the real AWS SDK clients, exactly as to a real account:

  1. plan on the capture day: remediation waits, because no owner was
     warned yet (require_prior_notice);
  2. notify: one digest per route to the emulator's SNS topics;
  3. a week later: plan and apply --yes, journaled in a throw-away state
     store, with the owners told what changed and how to undo it;
  4. show the changed IAM state, read back through the IAM API;
  5. apply again: everything is already done, no write call;
  6. rollback: undo the run, and compare the account with its state before;
  7. plan again: the rolled-back items are held (exempt), so nothing is redone.

The plan's clock is the snapshot's capture time, so the plan is
reproducible. Nothing leaves this machine; only the in-memory emulator
changes. With -o json or -o markdown, only the plan is printed.`
