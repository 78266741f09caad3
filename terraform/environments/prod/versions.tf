terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.14, < 8"
    }
  }

  # State lives in a bucket you create once (see terraform/README.md):
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="prefix=fooddelivery/prod"
  backend "gcs" {}
}

provider "google" {
  region = var.region
  # Project ids are per subsystem: every resource names its project; nothing defaults.
}
