import MobileNet
print("mobilenet-bench: under construction")
