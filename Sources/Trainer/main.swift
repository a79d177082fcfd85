import MobileNet
print("mobilenet-train: under construction")
