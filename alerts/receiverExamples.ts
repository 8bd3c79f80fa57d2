/**
 * Receivers in a stack file, as docs/alerts.md shows them and stacks/Pulumi.prod.yaml carries
 * them (commented out). The tests validate this block with the stack config schema, render it
 * and run amtool check-config on the result, so the example is always one that works.
 */
export const RECEIVER_EXAMPLE_YAML = `gpu-monitoring:alerting:
  receivers:
    - name: oncall-email
      type: email
      to: [gpu-oncall@example.org]
      from: alertmanager@example.org
      smarthost: smtp.example.org:587
      authUsername: alertmanager@example.org
      authPasswordSecret: smtpPassword        # pulumi config set --secret smtpPassword
    - name: team-slack
      type: slack
      webhookUrlSecret: slackWebhookUrl       # pulumi config set --secret slackWebhookUrl
      channel: "#gpu-alerts"
    - name: ticket-webhook
      type: webhook
      url: https://tickets.example.org/hooks/alertmanager
      bearerTokenSecret: ticketToken          # pulumi config set --secret ticketToken
  routing:
    defaultReceiver: team-slack
    critical:
      receiver: oncall-email
    warning:
      receiver: team-slack
    info:
      receiver: ticket-webhook
`;

/** The secrets the example names; a stack using it sets each with `pulumi config set --secret`. */
export const RECEIVER_EXAMPLE_SECRETS = ["smtpPassword", "slackWebhookUrl", "ticketToken"] as const;
