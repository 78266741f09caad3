output "name" {
  description = "The function's name."
  value       = google_cloudfunctions2_function.this.name
}

output "url" {
  description = "The function's HTTPS (Cloud Run) URL: push endpoint, BFF base URL or scheduler target."
  value       = local.run_uri

  # Handed out only once its callers may invoke it: a bridge's ingress subscription is made
  # from it, and pushes refused meanwhile (403) would be dead-lettered after a few attempts.
  depends_on = [
    google_cloud_run_v2_service_iam_member.invoker,
    google_cloud_run_v2_service_iam_member.public,
  ]
}

output "service_account_email" {
  description = "The function's runtime identity."
  value       = google_service_account.function.email
}

output "subscription_id" {
  description = "The push subscription feeding it, if this module made one."
  value       = one(google_pubsub_subscription.push[*].id)
}

output "scheduler_job_id" {
  description = "The Cloud Scheduler job ticking it, if any."
  value       = one(google_cloud_scheduler_job.tick[*].id)
}
