output "subscription_id" {
  description = "The ingress subscription."
  value       = google_pubsub_subscription.ingress.id
}
