// The node tier's two tiny static images (scripts/node-build.sh): pause, the pod sandbox
// every pod needs (nothing can be pulled here), and probe, a test image that checks DNS,
// Services and the in-cluster API from inside a pod. Standard library only.
module kube-tutorial-stack/tools/pause

go 1.26.0
