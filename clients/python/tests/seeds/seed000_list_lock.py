# Seed 000 (/work/shared/seeds/000_5c348751762fba75.txt), section
# "管理器——不同进程中共享数据": three processes append to a Manager list
# under a multiprocessing Lock. Verbatim but for the import line.
# seed import: from multiprocessing import Process, Lock, Manager
from multiprocessing import Process, Lock
from mpstore import Manager
import time

def func(nums, i, lock: Lock):
    lock.acquire()                          # 打印控制台是共享资源，需要请求锁
    print(f"Process -{i} : ", id(nums))
    lock.release()                          # 释放锁
    for x in range(3):
        time.sleep(1)
        lock.acquire()                      # nums也是共享资源，需要请求锁
        nums.append(i)
        print(f"Process -{i} : ", nums)
        lock.release()                      # 释放锁

if __name__ == '__main__':
    lock = Lock()
    nums = Manager().list([])               # 多个进程需要使用manager来传递共享变量
    print("Main Process :", id(nums))
    p_list = []
    for i in range(3):
        p = Process(target=func, args=(nums, i, lock, ))
        p_list.append(p)
        p.start()
    for p in p_list:
        p.join()
    print("Main Process :", nums)
